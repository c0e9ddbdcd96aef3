-- Runs first: the extension, loaded through shared_preload_libraries.
CREATE EXTENSION pg_tviews;
SHOW shared_preload_libraries;
SELECT extname, extversion IS NOT NULL AS versioned,
       extnamespace::regnamespace AS schema FROM pg_extension WHERE extname = 'pg_tviews';
SHOW pg_tviews.enabled;
SHOW pg_tviews.max_propagation_depth;
SHOW pg_tviews.max_queue_size;
SHOW pg_tviews.max_key_locks;
