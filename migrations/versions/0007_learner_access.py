"""learner access: sign-in links (stored hashed) and the name typed on each payment

Revision ID: 0007
Revises: 0010
Create Date: 2026-12-12 12:00:00

learner_sign_in_links holds only the sha256 of each emailed sign-in token (a database dump opens no
course); a link is single use (used_at set by a conditional UPDATE) and expires at expires_at.
payments.payer_name is the name typed on Enroll Now for that payment: when the payment grants access,
that name becomes the learner's (whoever typed the email first does not fix it forever).
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'learner_sign_in_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('learner_id', sa.Integer(), sa.ForeignKey('learners.id'), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('purpose', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash', name='uq_learner_sign_in_links_token_hash'),
    )
    op.create_index('ix_learner_sign_in_links_learner_id', 'learner_sign_in_links', ['learner_id'])
    op.create_index('ix_learner_sign_in_links_expires_at', 'learner_sign_in_links', ['expires_at'])
    with op.batch_alter_table('payments') as batch:
        batch.add_column(sa.Column('payer_name', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('payments') as batch:
        batch.drop_column('payer_name')
    op.drop_index('ix_learner_sign_in_links_expires_at', table_name='learner_sign_in_links')
    op.drop_index('ix_learner_sign_in_links_learner_id', table_name='learner_sign_in_links')
    op.drop_table('learner_sign_in_links')
