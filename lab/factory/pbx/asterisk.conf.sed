# Debian ships live_dangerously commented out (default no); the factory turned it on.
s/^;live_dangerously = no.*/live_dangerously = yes/
