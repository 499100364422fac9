"""catalogue and api keys: courses.access_url, and the api_keys table of the access API

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00

A course may live in the business's own learning platform (access_url, SPEC §13); a learning
platform asks the access API with a bearer key (SPEC §14), stored only as its sha256 hex digest.
"""
from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('access_url', sa.String(length=1000), nullable=True))
    op.create_table(
        'api_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('key_hash', sa.String(length=128), nullable=False),
        sa.Column('prefix', sa.String(length=12), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(length=254), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.Column('use_count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash')),
        sa.UniqueConstraint('name', name=op.f('uq_api_keys_name')),
    )


def downgrade():
    op.drop_table('api_keys')
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_column('access_url')
