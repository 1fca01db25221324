"""The ``bytespike`` admin CLI (operator powers, straight to DynamoDB through ``bytespike.admin``)."""
