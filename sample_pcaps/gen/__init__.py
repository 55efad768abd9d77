"""Generator of the sample captures: namespaces, agents, capture, truth files."""
