CREATE TABLE embedded_users (id bigint PRIMARY KEY, email text NOT NULL);
