DROP TABLE embedded_users;
