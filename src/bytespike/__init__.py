"""ByteSpike: one gateway, one key and one wallet in front of every model provider.

Set before any of our modules imports pydantic: ByteSpike uses no pydantic plugins, and pydantic
looks for them by scanning every installed distribution's entry points when the first model class
is built (~10 ms of each cold start, more with more packages installed). A deployment that wants a
plugin sets ``PYDANTIC_DISABLE_PLUGINS`` itself (e.g. to ``""``).
"""

import os

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
