from bytespike.local.stack import main

main()
