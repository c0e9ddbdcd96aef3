// node-postgres against tusk-lite: connect, CREATE, CRUD with parameters, a
// named prepared statement, a transaction, an error carrying its SQLSTATE.
// Run by crates/tusk-lite/tests/drivers.rs with PGPORT set.
const { Client } = require('pg');
const assert = require('assert');

(async () => {
  const c = new Client({ host: '127.0.0.1', port: Number(process.env.PGPORT), user: 'app', database: 'app' });
  await c.connect();
  await c.query('CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int)');
  await c.query('INSERT INTO items VALUES ($1, $2, $3), ($4, $5, $6)', [1, 'a', 10, 2, 'b', 20]);
  await c.query('UPDATE items SET qty = qty + $1 WHERE id = $2', [5, 1]);
  await c.query('DELETE FROM items WHERE id = $1', [2]);
  const named = { name: 'by_id', text: 'SELECT name, qty FROM items WHERE id = $1' };
  let r = await c.query({ ...named, values: [1] });
  assert.deepStrictEqual(r.rows, [{ name: 'a', qty: 15 }]);
  r = await c.query({ ...named, values: [2] });
  assert.strictEqual(r.rows.length, 0);
  await c.query('BEGIN');
  await c.query('INSERT INTO items VALUES ($1, $2, $3)', [3, 'c', 30]);
  await c.query('ROLLBACK');
  await c.query('BEGIN');
  await c.query('INSERT INTO items VALUES ($1, $2, $3)', [4, 'd', 40]);
  await c.query('COMMIT');
  r = await c.query('SELECT id FROM items ORDER BY id');
  assert.deepStrictEqual(r.rows.map((x) => x.id), [1, 4]);
  try {
    await c.query('INSERT INTO items VALUES ($1, $2, $3)', [1, 'dup', 0]);
    assert.fail('a duplicate key must fail');
  } catch (e) {
    assert.strictEqual(e.code, '23505');
    assert.strictEqual(e.constraint, 'items_pkey');
  }
  await c.end();
  console.log('node-postgres ok');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
