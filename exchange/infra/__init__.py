"""Infrastructure concerns shared by every app: the client's address behind proxies, health
endpoints, and the production-safety checks run at startup."""
