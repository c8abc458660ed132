"""Cart.line_count: the number of lines of the cart, kept by triggers on orders_cartitem.

Why triggers: the count must change in the statement that inserts or deletes a line, whatever
writes it (the add-to-cart's one statement, the ORM's deletes, a cascade from a deleted cart
or SKU), so the add can check MAX_LINES on the cart row it locks in the same statement.
- an inserted line: +1 on its cart (an add merged into an existing line by ON CONFLICT DO
  UPDATE fires no INSERT trigger);
- a deleted line: -1 on its cart;
- a line moved to another cart (no code does it; counted right all the same).
All row-level, each an UPDATE of one cart by its primary key: a statement-level trigger
with a transition table joined orders_cart by a plan made without knowing the rows (a
sequential scan of every cart on each checkout). A checkout deletes one or two lines, and a
cart's deletion, rare, pays one update per line.
The backfill runs after the triggers exist, in the migration's transaction; adding the column
locks orders_cart until then, so no add can slip between the two.
"""

from django.db import migrations, models

TRIGGERS = """
CREATE OR REPLACE FUNCTION orders_cartitem_count_added() RETURNS trigger AS $$
BEGIN
    UPDATE orders_cart SET line_count = line_count + 1 WHERE id = NEW.cart_id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION orders_cartitem_count_deleted() RETURNS trigger AS $$
BEGIN
    UPDATE orders_cart SET line_count = line_count - 1 WHERE id = OLD.cart_id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION orders_cartitem_count_moved() RETURNS trigger AS $$
BEGIN
    UPDATE orders_cart SET line_count = line_count - 1 WHERE id = OLD.cart_id;
    UPDATE orders_cart SET line_count = line_count + 1 WHERE id = NEW.cart_id;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER orders_cartitem_counted_in AFTER INSERT ON orders_cartitem
    FOR EACH ROW EXECUTE FUNCTION orders_cartitem_count_added();
CREATE TRIGGER orders_cartitem_counted_out AFTER DELETE ON orders_cartitem
    FOR EACH ROW EXECUTE FUNCTION orders_cartitem_count_deleted();
CREATE TRIGGER orders_cartitem_counted_moved AFTER UPDATE OF cart_id ON orders_cartitem
    FOR EACH ROW WHEN (OLD.cart_id IS DISTINCT FROM NEW.cart_id)
    EXECUTE FUNCTION orders_cartitem_count_moved();

UPDATE orders_cart
   SET line_count = (SELECT count(*) FROM orders_cartitem WHERE orders_cartitem.cart_id = orders_cart.id);
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS orders_cartitem_counted_moved ON orders_cartitem;
DROP TRIGGER IF EXISTS orders_cartitem_counted_out ON orders_cartitem;
DROP TRIGGER IF EXISTS orders_cartitem_counted_in ON orders_cartitem;
DROP FUNCTION IF EXISTS orders_cartitem_count_moved();
DROP FUNCTION IF EXISTS orders_cartitem_count_deleted();
DROP FUNCTION IF EXISTS orders_cartitem_count_added();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0014_backfill_flash_sale_group_buy_discounts"),
    ]

    operations = [
        migrations.AddField(
            model_name="cart",
            name="line_count",
            field=models.PositiveIntegerField(db_default=0, default=0, editable=False, verbose_name="lines"),
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
