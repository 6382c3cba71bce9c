"""login failures per device and kind: throttling that never locks a whole address

Sign-in failures were counted per account and per address, and ten from one address locked everybody
behind it (a room of kiosks behind NAT). Each failure now also records the device it came from (the id
in the signed device cookie), whether the account had signed in on that device before, whether it is
a registered kiosk, and its kind (a sign-in, or the current password on the password page), so app/accounts/throttle.py can lock an
account against unknown clients, lock a device, and only slow an address down. Composite indexes
serve the windowed counts per account, address and device. Existing rows are sign-ins without a device.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 09:00:00

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import sqlmodel

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('accounts_login_failure', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False,
                                      server_default='signin'))
        batch_op.add_column(sa.Column('device', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('known_device', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('kiosk', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.drop_index(batch_op.f('ix_accounts_login_failure_username'))
        batch_op.drop_index(batch_op.f('ix_accounts_login_failure_ip'))
        batch_op.create_index('ix_accounts_login_failure_username_at', ['username', 'at'], unique=False)
        batch_op.create_index('ix_accounts_login_failure_ip_at', ['ip', 'at'], unique=False)
        batch_op.create_index('ix_accounts_login_failure_device_at', ['device', 'at'], unique=False)
        batch_op.create_check_constraint('kind_valid', "kind IN ('signin','password_check')")
    # The defaults only filled the existing rows; the application always sets both.
    with op.batch_alter_table('accounts_login_failure', schema=None) as batch_op:
        batch_op.alter_column('kind', server_default=None)
        batch_op.alter_column('known_device', server_default=None)
        batch_op.alter_column('kiosk', server_default=None)


def downgrade() -> None:
    # Failures of the password page were not counted before: they go, the sign-in failures stay.
    op.execute("DELETE FROM accounts_login_failure WHERE kind <> 'signin'")
    with op.batch_alter_table('accounts_login_failure', schema=None) as batch_op:
        batch_op.drop_constraint('kind_valid', type_='check')
        batch_op.drop_index('ix_accounts_login_failure_device_at')
        batch_op.drop_index('ix_accounts_login_failure_ip_at')
        batch_op.drop_index('ix_accounts_login_failure_username_at')
        batch_op.create_index(batch_op.f('ix_accounts_login_failure_ip'), ['ip'], unique=False)
        batch_op.create_index(batch_op.f('ix_accounts_login_failure_username'), ['username'], unique=False)
        batch_op.drop_column('kiosk')
        batch_op.drop_column('known_device')
        batch_op.drop_column('device')
        batch_op.drop_column('kind')
