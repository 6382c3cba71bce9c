"""exams: banks, questions, versions, papers, exams, attempts, notebook

Tables for app/exams (see app/exams/models.py): questions with immutable versions, fixed and blueprint
papers, exams and recurring schedules (日考/周考/月考), attempts with answers (per-question sequence
numbers) and their event log, and the wrong-answer notebook. A partial unique index keeps one attempt in
progress per trainee and exam on both SQLite and PostgreSQL.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 13:37:12.505338

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import app.core.models
import sqlmodel

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('exams_bank',
    sa.Column('created_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('updated_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=True),
    sa.Column('archived_at', app.core.models.AwareDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['org_unit_id'], ['accounts_org_unit.id'], name=op.f('fk_exams_bank_org_unit_id_accounts_org_unit'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['accounts_user.id'], name=op.f('fk_exams_bank_owner_id_accounts_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exams_bank'))
    )
    with op.batch_alter_table('exams_bank', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exams_bank_owner_id'), ['owner_id'], unique=False)

    op.create_table('exams_paper',
    sa.Column('created_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('updated_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('shuffle_questions', sa.Boolean(), nullable=False),
    sa.Column('shuffle_options', sa.Boolean(), nullable=False),
    sa.Column('archived_at', app.core.models.AwareDateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('fixed','blueprint')", name=op.f('ck_exams_paper_kind_valid')),
    sa.ForeignKeyConstraint(['bank_id'], ['exams_bank.id'], name=op.f('fk_exams_paper_bank_id_exams_bank'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['accounts_user.id'], name=op.f('fk_exams_paper_owner_id_accounts_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exams_paper'))
    )
    with op.batch_alter_table('exams_paper', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exams_paper_owner_id'), ['owner_id'], unique=False)

    op.create_table('exams_question',
    sa.Column('created_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('updated_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bank_id', sa.Integer(), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('difficulty', sa.Integer(), nullable=False),
    sa.Column('tier', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('current_version_id', sa.Integer(), nullable=True),
    sa.Column('version_count', sa.Integer(), nullable=False),
    sa.Column('external_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('draft','active','retired')", name=op.f('ck_exams_question_status_valid')),
    sa.CheckConstraint("tier IS NULL OR tier IN ('decision','management','execution')", name=op.f('ck_exams_question_tier_valid')),
    sa.CheckConstraint('difficulty BETWEEN 1 AND 5', name=op.f('ck_exams_question_difficulty_range')),
    sa.ForeignKeyConstraint(['bank_id'], ['exams_bank.id'], name=op.f('fk_exams_question_bank_id_exams_bank'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['accounts_user.id'], name=op.f('fk_exams_question_created_by_id_accounts_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exams_question'))
    )
    with op.batch_alter_table('exams_question', schema=None) as batch_op:
        batch_op.create_index('ix_exams_question_bank_fingerprint', ['bank_id', 'fingerprint'], unique=False)
        batch_op.create_index(batch_op.f('ix_exams_question_bank_id'), ['bank_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exams_question_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_exams_question_type'), ['type'], unique=False)

    op.create_table('exams_blueprint_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True),
    sa.Column('difficulty_min', sa.Integer(), nullable=False),
    sa.Column('difficulty_max', sa.Integer(), nullable=False),
    sa.Column('tag', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('clause_id', sa.Integer(), nullable=True),
    sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('points', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.CheckConstraint('count >= 1', name=op.f('ck_exams_blueprint_rule_count_positive')),
    sa.CheckConstraint('difficulty_min BETWEEN 1 AND 5 AND difficulty_max BETWEEN difficulty_min AND 5', name=op.f('ck_exams_blueprint_rule_difficulty_range')),
    sa.ForeignKeyConstraint(['paper_id'], ['exams_paper.id'], name=op.f('fk_exams_blueprint_rule_paper_id_exams_paper'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exams_blueprint_rule'))
    )
    with op.batch_alter_table('exams_blueprint_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exams_blueprint_rule_paper_id'), ['paper_id'], unique=False)

    op.create_table('exams_notebook_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('wrong_count', sa.Integer(), nullable=False),
    sa.Column('right_streak', sa.Integer(), nullable=False),
    sa.Column('last_response', sa.JSON(), nullable=True),
    sa.Column('first_wrong_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('last_seen_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('cleared_at', app.core.models.AwareDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['question_id'], ['exams_question.id'], name=op.f('fk_exams_notebook_entry_question_id_exams_question'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['accounts_user.id'], name=op.f('fk_exams_notebook_entry_user_id_accounts_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exams_notebook_entry')),
    sa.UniqueConstraint('user_id', 'question_id', name=op.f('uq_exams_notebook_entry_user_id_question_id'))
    )
    with op.batch_alter_table('exams_notebook_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exams_notebook_entry_question_id'), ['question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exams_notebook_entry_user_id'), ['user_id'], unique=False)

    op.create_table('exams_paper_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('points', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.ForeignKeyConstraint(['paper_id'], ['exams_paper.id'], name=op.f('fk_exams_paper_item_paper_id_exams_paper'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['question_id'], ['exams_question.id'], name=op.f('fk_exams_paper_item_question_id_exams_question'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exams_paper_item')),
    sa.UniqueConstraint('paper_id', 'question_id', name=op.f('uq_exams_paper_item_paper_id_question_id'))
    )
    with op.batch_alter_table('exams_paper_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exams_paper_item_paper_id'), ['paper_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exams_paper_item_question_id'), ['question_id'], unique=False)

    op.create_table('exams_question_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('stem', sa.Text(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('points', sa.Numeric(precision=6, scale=2), nullable=False),
    sa.Column('difficulty', sa.Integer(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('clause_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('points >= 0', name=op.f('ck_exams_question_version_points_not_negative')),
    sa.ForeignKeyConstraint(['created_by_id'], ['accounts_user.id'], name=op.f('fk_exams_question_version_created_by_id_accounts_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['question_id'], ['exams_question.id'], name=op.f('fk_exams_question_version_question_id_exams_question'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exams_question_version')),
    sa.UniqueConstraint('question_id', 'number', name=op.f('uq_exams_question_version_question_id_number'))
    )
    with op.batch_alter_table('exams_question_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exams_question_version_question_id'), ['question_id'], unique=False)

    op.create_table('exams_schedule',
    sa.Column('created_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('updated_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('tier', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=True),
    sa.Column('opens_at_local', sqlmodel.sql.sqltypes.AutoString(length=5), nullable=False),
    sa.Column('window_hours', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('month_day', sa.Integer(), nullable=False),
    sa.Column('time_limit_s', sa.Integer(), nullable=False),
    sa.Column('pass_percent', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('last_edition_key', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('daily','weekly','monthly')", name=op.f('ck_exams_schedule_kind_valid')),
    sa.CheckConstraint("tier IS NULL OR tier IN ('decision','management','execution')", name=op.f('ck_exams_schedule_tier_valid')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['accounts_org_unit.id'], name=op.f('fk_exams_schedule_org_unit_id_accounts_org_unit'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['accounts_user.id'], name=op.f('fk_exams_schedule_owner_id_accounts_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['paper_id'], ['exams_paper.id'], name=op.f('fk_exams_schedule_paper_id_exams_paper'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exams_schedule'))
    )
    op.create_table('exams_exam',
    sa.Column('created_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('updated_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('paper_id', sa.Integer(), nullable=False),
    sa.Column('paper_snapshot', sa.JSON(), nullable=False),
    sa.Column('opens_at', app.core.models.AwareDateTime(), nullable=True),
    sa.Column('closes_at', app.core.models.AwareDateTime(), nullable=True),
    sa.Column('time_limit_s', sa.Integer(), nullable=True),
    sa.Column('attempts_allowed', sa.Integer(), nullable=True),
    sa.Column('pass_percent', sa.Integer(), nullable=False),
    sa.Column('results_policy', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('tier', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=True),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('edition_key', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('published_at', app.core.models.AwareDateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('regular','daily','weekly','monthly','practice','competition')", name=op.f('ck_exams_exam_kind_valid')),
    sa.CheckConstraint("results_policy IN ('immediately','after_close','score_only','never')", name=op.f('ck_exams_exam_results_policy_valid')),
    sa.CheckConstraint("status IN ('draft','published','archived')", name=op.f('ck_exams_exam_status_valid')),
    sa.CheckConstraint("tier IS NULL OR tier IN ('decision','management','execution')", name=op.f('ck_exams_exam_tier_valid')),
    sa.CheckConstraint('attempts_allowed IS NULL OR attempts_allowed > 0', name=op.f('ck_exams_exam_attempts_positive')),
    sa.CheckConstraint('pass_percent BETWEEN 0 AND 100', name=op.f('ck_exams_exam_pass_percent_range')),
    sa.CheckConstraint('time_limit_s IS NULL OR time_limit_s > 0', name=op.f('ck_exams_exam_time_limit_positive')),
    sa.ForeignKeyConstraint(['course_id'], ['courses_course.id'], name=op.f('fk_exams_exam_course_id_courses_course'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_unit_id'], ['accounts_org_unit.id'], name=op.f('fk_exams_exam_org_unit_id_accounts_org_unit'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['accounts_user.id'], name=op.f('fk_exams_exam_owner_id_accounts_user'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['paper_id'], ['exams_paper.id'], name=op.f('fk_exams_exam_paper_id_exams_paper'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['schedule_id'], ['exams_schedule.id'], name=op.f('fk_exams_exam_schedule_id_exams_schedule'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exams_exam')),
    sa.UniqueConstraint('schedule_id', 'edition_key', name=op.f('uq_exams_exam_schedule_id_edition_key'))
    )
    with op.batch_alter_table('exams_exam', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exams_exam_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_exams_exam_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exams_exam_schedule_id'), ['schedule_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exams_exam_status'), ['status'], unique=False)

    op.create_table('exams_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('exam_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('started_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('deadline', app.core.models.AwareDateTime(), nullable=True),
    sa.Column('last_seen_at', app.core.models.AwareDateTime(), nullable=True),
    sa.Column('submitted_at', app.core.models.AwareDateTime(), nullable=True),
    sa.Column('finish_reason', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('score', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('max_score', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('passed', sa.Boolean(), nullable=True),
    sa.Column('needs_grading', sa.Boolean(), nullable=False),
    sa.Column('graded_at', app.core.models.AwareDateTime(), nullable=True),
    sa.CheckConstraint("status IN ('in_progress','overdue','finished','abandoned')", name=op.f('ck_exams_attempt_status_valid')),
    sa.ForeignKeyConstraint(['exam_id'], ['exams_exam.id'], name=op.f('fk_exams_attempt_exam_id_exams_exam'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['accounts_user.id'], name=op.f('fk_exams_attempt_user_id_accounts_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exams_attempt')),
    sa.UniqueConstraint('exam_id', 'user_id', 'number', name=op.f('uq_exams_attempt_exam_id_user_id_number'))
    )
    with op.batch_alter_table('exams_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exams_attempt_exam_id'), ['exam_id'], unique=False)
        batch_op.create_index('ix_exams_attempt_sweep', ['status', 'deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_exams_attempt_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_exams_attempt_one_open', ['exam_id', 'user_id'], unique=True, sqlite_where=sa.text("status = 'in_progress'"), postgresql_where=sa.text("status = 'in_progress'"))

    op.create_table('exams_attempt_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('question_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('response', sa.JSON(), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('saved_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('score', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('correct', sa.Boolean(), nullable=True),
    sa.Column('needs_manual', sa.Boolean(), nullable=False),
    sa.Column('graded_by_id', sa.Integer(), nullable=True),
    sa.Column('grader_note', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['exams_attempt.id'], name=op.f('fk_exams_attempt_answer_attempt_id_exams_attempt'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['graded_by_id'], ['accounts_user.id'], name=op.f('fk_exams_attempt_answer_graded_by_id_accounts_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exams_attempt_answer')),
    sa.UniqueConstraint('attempt_id', 'question_key', name=op.f('uq_exams_attempt_answer_attempt_id_question_key'))
    )
    with op.batch_alter_table('exams_attempt_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exams_attempt_answer_attempt_id'), ['attempt_id'], unique=False)

    op.create_table('exams_attempt_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('question_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['exams_attempt.id'], name=op.f('fk_exams_attempt_event_attempt_id_exams_attempt'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exams_attempt_event'))
    )
    with op.batch_alter_table('exams_attempt_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exams_attempt_event_attempt_id'), ['attempt_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('exams_attempt_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exams_attempt_event_attempt_id'))

    op.drop_table('exams_attempt_event')
    with op.batch_alter_table('exams_attempt_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exams_attempt_answer_attempt_id'))

    op.drop_table('exams_attempt_answer')
    with op.batch_alter_table('exams_attempt', schema=None) as batch_op:
        batch_op.drop_index('uq_exams_attempt_one_open', sqlite_where=sa.text("status = 'in_progress'"), postgresql_where=sa.text("status = 'in_progress'"))
        batch_op.drop_index(batch_op.f('ix_exams_attempt_user_id'))
        batch_op.drop_index('ix_exams_attempt_sweep')
        batch_op.drop_index(batch_op.f('ix_exams_attempt_exam_id'))

    op.drop_table('exams_attempt')
    with op.batch_alter_table('exams_exam', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exams_exam_status'))
        batch_op.drop_index(batch_op.f('ix_exams_exam_schedule_id'))
        batch_op.drop_index(batch_op.f('ix_exams_exam_owner_id'))
        batch_op.drop_index(batch_op.f('ix_exams_exam_kind'))

    op.drop_table('exams_exam')
    op.drop_table('exams_schedule')
    with op.batch_alter_table('exams_question_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exams_question_version_question_id'))

    op.drop_table('exams_question_version')
    with op.batch_alter_table('exams_paper_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exams_paper_item_question_id'))
        batch_op.drop_index(batch_op.f('ix_exams_paper_item_paper_id'))

    op.drop_table('exams_paper_item')
    with op.batch_alter_table('exams_notebook_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exams_notebook_entry_user_id'))
        batch_op.drop_index(batch_op.f('ix_exams_notebook_entry_question_id'))

    op.drop_table('exams_notebook_entry')
    with op.batch_alter_table('exams_blueprint_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exams_blueprint_rule_paper_id'))

    op.drop_table('exams_blueprint_rule')
    with op.batch_alter_table('exams_question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exams_question_type'))
        batch_op.drop_index(batch_op.f('ix_exams_question_status'))
        batch_op.drop_index(batch_op.f('ix_exams_question_bank_id'))
        batch_op.drop_index('ix_exams_question_bank_fingerprint')

    op.drop_table('exams_question')
    with op.batch_alter_table('exams_paper', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exams_paper_owner_id'))

    op.drop_table('exams_paper')
    with op.batch_alter_table('exams_bank', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exams_bank_owner_id'))

    op.drop_table('exams_bank')
