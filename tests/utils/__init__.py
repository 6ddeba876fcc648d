"""What the tests share: the loopback API and TLS servers, scripted faults, running atdak."""
