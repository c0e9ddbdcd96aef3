-- tusk:no-transaction
CREATE INDEX CONCURRENTLY embedded_users_email ON embedded_users (email);
