-- Slow on purpose: widens the window in which concurrent builders of the
-- template would collide without the advisory lock.
SELECT pg_sleep(1);
CREATE TABLE slow (id int);
