"""media: assets, renditions and resumable upload sessions

Tables for app/media (see app/media/models.py). Asset ids are random tokens, not sequences; the
original file is content-addressed by sha256 on disk, so the same bytes uploaded twice share one file.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 13:01:48.239644

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import app.core.models
import sqlmodel

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('media_asset',
    sa.Column('created_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('updated_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('original_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('mime_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('container', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('probe', sa.JSON(), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('page_count', sa.Integer(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('ready_at', app.core.models.AwareDateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('video','image','pdf','picture_book')", name=op.f('ck_media_asset_kind_valid')),
    sa.CheckConstraint("status IN ('queued','processing','ready','failed')", name=op.f('ck_media_asset_status_valid')),
    sa.CheckConstraint('progress >= 0 AND progress <= 100', name=op.f('ck_media_asset_progress_range')),
    sa.ForeignKeyConstraint(['job_id'], ['core_job.id'], name=op.f('fk_media_asset_job_id_core_job'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['accounts_user.id'], name=op.f('fk_media_asset_owner_id_accounts_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_asset'))
    )
    with op.batch_alter_table('media_asset', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_asset_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_asset_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_asset_status'), ['status'], unique=False)

    op.create_table('media_rendition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('path', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('mime_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('bitrate', sa.Integer(), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('meta', sa.JSON(), nullable=False),
    sa.CheckConstraint("kind IN ('hls','hls_variant','mp4','poster','thumbnails','image','page')", name=op.f('ck_media_rendition_kind_valid')),
    sa.ForeignKeyConstraint(['asset_id'], ['media_asset.id'], name=op.f('fk_media_rendition_asset_id_media_asset'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_rendition')),
    sa.UniqueConstraint('asset_id', 'kind', 'label', name=op.f('uq_media_rendition_asset_id_kind_label'))
    )
    with op.batch_alter_table('media_rendition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_rendition_asset_id'), ['asset_id'], unique=False)

    op.create_table('media_upload',
    sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('requested_kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('received', sa.BigInteger(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('asset_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('created_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('expires_at', app.core.models.AwareDateTime(), nullable=False),
    sa.CheckConstraint("status IN ('open','completed')", name=op.f('ck_media_upload_status_valid')),
    sa.CheckConstraint('received >= 0 AND received <= size_bytes', name=op.f('ck_media_upload_received_range')),
    sa.ForeignKeyConstraint(['asset_id'], ['media_asset.id'], name=op.f('fk_media_upload_asset_id_media_asset'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['accounts_user.id'], name=op.f('fk_media_upload_owner_id_accounts_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_upload'))
    )
    with op.batch_alter_table('media_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_upload_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_upload_owner_id'), ['owner_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('media_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_upload_owner_id'))
        batch_op.drop_index(batch_op.f('ix_media_upload_expires_at'))

    op.drop_table('media_upload')
    with op.batch_alter_table('media_rendition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_rendition_asset_id'))

    op.drop_table('media_rendition')
    with op.batch_alter_table('media_asset', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_asset_status'))
        batch_op.drop_index(batch_op.f('ix_media_asset_sha256'))
        batch_op.drop_index(batch_op.f('ix_media_asset_owner_id'))

    op.drop_table('media_asset')
