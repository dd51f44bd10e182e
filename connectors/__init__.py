"""Channel connectors bring email, chat, phone and social messages into the service layer."""
