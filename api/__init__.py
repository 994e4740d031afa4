"""HTTP: parse the transport, call one function in sync/, render the result."""
