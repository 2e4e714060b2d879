-- Sample data for development (npm run db:seed). Safe to run twice: it adds Ann only when there
-- are no users yet.
INSERT INTO users (name, email)
SELECT 'Ann', 'ann@example.com'
WHERE NOT EXISTS (SELECT 1 FROM users);
