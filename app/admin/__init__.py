"""Administration pages for the association's coordinator: accounts and their roles."""
