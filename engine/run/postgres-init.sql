-- Runs once, when the postgres container initialises an empty data directory, as POSTGRES_USER.
-- POSTGRES_DB (postloan) holds the project's business data; the engine gets its own database.
CREATE DATABASE engine;
