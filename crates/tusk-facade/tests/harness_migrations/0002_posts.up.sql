CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    author bigint NOT NULL REFERENCES users (id),
    title text NOT NULL
);
