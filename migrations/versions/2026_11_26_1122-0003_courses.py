"""courses: curricula, courses, structure, published versions, enrolments, progress, study hours

Tables for app/courses (see app/courses/models.py for the versioning and exactly-once rules), and
the default annual study-hour requirement per tier (administrators edit it afterwards). The three
seeded rows are reference data the service also falls back to, so a downgrade simply drops them
with their table.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 11:22:56.444716

"""
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from alembic import op
import app.core.models
import sqlmodel

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('courses_curriculum',
    sa.Column('created_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('updated_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('tier', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("tier IN ('decision','management','execution')", name=op.f('ck_courses_curriculum_tier_valid')),
    sa.ForeignKeyConstraint(['created_by_id'], ['accounts_user.id'], name=op.f('fk_courses_curriculum_created_by_id_accounts_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_unit_id'], ['accounts_org_unit.id'], name=op.f('fk_courses_curriculum_org_unit_id_accounts_org_unit'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses_curriculum'))
    )
    with op.batch_alter_table('courses_curriculum', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_curriculum_org_unit_id'), ['org_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_courses_curriculum_tier'), ['tier'], unique=False)

    op.create_table('courses_hours_requirement',
    sa.Column('tier', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('hours', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('updated_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("tier IN ('decision','management','execution')", name=op.f('ck_courses_hours_requirement_tier_valid')),
    sa.CheckConstraint('hours >= 0', name=op.f('ck_courses_hours_requirement_hours_not_negative')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['accounts_user.id'], name=op.f('fk_courses_hours_requirement_updated_by_id_accounts_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('tier', name=op.f('pk_courses_hours_requirement'))
    )
    requirement = sa.table('courses_hours_requirement', sa.column('tier', sa.String), sa.column('hours', sa.Numeric(5, 1)),
                           sa.column('updated_at', app.core.models.AwareDateTime()))
    seeded_at = datetime(2026, 11, 26, tzinfo=UTC)
    op.bulk_insert(requirement, [{'tier': tier, 'hours': Decimal(hours), 'updated_at': seeded_at}
                                 for tier, hours in (('decision', '12'), ('management', '24'), ('execution', '32'))])
    op.create_table('courses_course',
    sa.Column('created_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('updated_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('curriculum_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('hours', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('is_required', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('published_number', sa.Integer(), nullable=False),
    sa.Column('has_draft_changes', sa.Boolean(), nullable=False),
    sa.Column('archived_at', app.core.models.AwareDateTime(), nullable=True),
    sa.CheckConstraint('hours >= 0', name=op.f('ck_courses_course_hours_not_negative')),
    sa.CheckConstraint('published_number >= 0', name=op.f('ck_courses_course_published_number_not_negative')),
    sa.ForeignKeyConstraint(['curriculum_id'], ['courses_curriculum.id'], name=op.f('fk_courses_course_curriculum_id_courses_curriculum'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner_id'], ['accounts_user.id'], name=op.f('fk_courses_course_owner_id_accounts_user'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses_course'))
    )
    with op.batch_alter_table('courses_course', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_course_curriculum_id'), ['curriculum_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_courses_course_owner_id'), ['owner_id'], unique=False)

    op.create_table('courses_course_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('hours', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('published_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.CheckConstraint('hours >= 0', name=op.f('ck_courses_course_version_hours_not_negative')),
    sa.CheckConstraint('number >= 1', name=op.f('ck_courses_course_version_number_positive')),
    sa.ForeignKeyConstraint(['course_id'], ['courses_course.id'], name=op.f('fk_courses_course_version_course_id_courses_course'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['published_by_id'], ['accounts_user.id'], name=op.f('fk_courses_course_version_published_by_id_accounts_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses_course_version')),
    sa.UniqueConstraint('course_id', 'number', name=op.f('uq_courses_course_version_course_id_number'))
    )
    with op.batch_alter_table('courses_course_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_course_version_course_id'), ['course_id'], unique=False)

    op.create_table('courses_enrolment_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('tier', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('org_unit_id', sa.Integer(), nullable=True),
    sa.Column('due_days', sa.Integer(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.core.models.AwareDateTime(), nullable=False),
    sa.CheckConstraint("tier IS NULL OR tier IN ('decision','management','execution')", name=op.f('ck_courses_enrolment_rule_tier_valid')),
    sa.CheckConstraint('due_days IS NULL OR due_days > 0', name=op.f('ck_courses_enrolment_rule_due_days_positive')),
    sa.ForeignKeyConstraint(['course_id'], ['courses_course.id'], name=op.f('fk_courses_enrolment_rule_course_id_courses_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by_id'], ['accounts_user.id'], name=op.f('fk_courses_enrolment_rule_created_by_id_accounts_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_unit_id'], ['accounts_org_unit.id'], name=op.f('fk_courses_enrolment_rule_org_unit_id_accounts_org_unit'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses_enrolment_rule'))
    )
    with op.batch_alter_table('courses_enrolment_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_enrolment_rule_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_courses_enrolment_rule_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('courses_module',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('removed_at', app.core.models.AwareDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['courses_course.id'], name=op.f('fk_courses_module_course_id_courses_course'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses_module'))
    )
    with op.batch_alter_table('courses_module', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_module_course_id'), ['course_id'], unique=False)

    op.create_table('courses_prerequisite',
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('required_course_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('course_id <> required_course_id', name=op.f('ck_courses_prerequisite_not_self')),
    sa.ForeignKeyConstraint(['course_id'], ['courses_course.id'], name=op.f('fk_courses_prerequisite_course_id_courses_course'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['required_course_id'], ['courses_course.id'], name=op.f('fk_courses_prerequisite_required_course_id_courses_course'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('course_id', 'required_course_id', name=op.f('pk_courses_prerequisite'))
    )
    with op.batch_alter_table('courses_prerequisite', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_prerequisite_required_course_id'), ['required_course_id'], unique=False)

    op.create_table('courses_enrolment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('enrolled_by_id', sa.Integer(), nullable=True),
    sa.Column('enrolled_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('started_at', app.core.models.AwareDateTime(), nullable=True),
    sa.Column('completed_at', app.core.models.AwareDateTime(), nullable=True),
    sa.CheckConstraint("source IN ('manual','rule')", name=op.f('ck_courses_enrolment_source_valid')),
    sa.CheckConstraint('due_on IS NULL OR start_on IS NULL OR due_on >= start_on', name=op.f('ck_courses_enrolment_due_after_start')),
    sa.ForeignKeyConstraint(['course_id'], ['courses_course.id'], name=op.f('fk_courses_enrolment_course_id_courses_course'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['enrolled_by_id'], ['accounts_user.id'], name=op.f('fk_courses_enrolment_enrolled_by_id_accounts_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rule_id'], ['courses_enrolment_rule.id'], name=op.f('fk_courses_enrolment_rule_id_courses_enrolment_rule'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['accounts_user.id'], name=op.f('fk_courses_enrolment_user_id_accounts_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['courses_course_version.id'], name=op.f('fk_courses_enrolment_version_id_courses_course_version'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses_enrolment')),
    sa.UniqueConstraint('course_id', 'user_id', name=op.f('uq_courses_enrolment_course_id_user_id'))
    )
    with op.batch_alter_table('courses_enrolment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_enrolment_completed_at'), ['completed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_courses_enrolment_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_courses_enrolment_rule_id'), ['rule_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_courses_enrolment_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_courses_enrolment_version_id'), ['version_id'], unique=False)

    op.create_table('courses_lesson',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('removed_at', app.core.models.AwareDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['module_id'], ['courses_module.id'], name=op.f('fk_courses_lesson_module_id_courses_module'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses_lesson'))
    )
    with op.batch_alter_table('courses_lesson', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_lesson_module_id'), ['module_id'], unique=False)

    op.create_table('courses_hours_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('hours', sa.Numeric(precision=5, scale=1), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=True),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('awarded_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.CheckConstraint('hours >= 0', name=op.f('ck_courses_hours_entry_hours_not_negative')),
    sa.ForeignKeyConstraint(['course_id'], ['courses_course.id'], name=op.f('fk_courses_hours_entry_course_id_courses_course'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['enrolment_id'], ['courses_enrolment.id'], name=op.f('fk_courses_hours_entry_enrolment_id_courses_enrolment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['accounts_user.id'], name=op.f('fk_courses_hours_entry_user_id_accounts_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['courses_course_version.id'], name=op.f('fk_courses_hours_entry_version_id_courses_course_version'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses_hours_entry')),
    sa.UniqueConstraint('enrolment_id', name=op.f('uq_courses_hours_entry_enrolment_id'))
    )
    with op.batch_alter_table('courses_hours_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_hours_entry_course_id'), ['course_id'], unique=False)
        batch_op.create_index('ix_courses_hours_entry_user_year', ['user_id', 'year'], unique=False)

    op.create_table('courses_material',
    sa.Column('created_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('updated_at', app.core.models.AwareDateTime(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lesson_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('is_required', sa.Boolean(), nullable=False),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('removed_at', app.core.models.AwareDateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('text','video','picture_book','scene','visual_assessment')", name=op.f('ck_courses_material_kind_valid')),
    sa.ForeignKeyConstraint(['lesson_id'], ['courses_lesson.id'], name=op.f('fk_courses_material_lesson_id_courses_lesson'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses_material'))
    )
    with op.batch_alter_table('courses_material', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_material_lesson_id'), ['lesson_id'], unique=False)

    op.create_table('courses_material_progress',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('completed_at', app.core.models.AwareDateTime(), nullable=True),
    sa.Column('updated_at', app.core.models.AwareDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['courses_enrolment.id'], name=op.f('fk_courses_material_progress_enrolment_id_courses_enrolment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['material_id'], ['courses_material.id'], name=op.f('fk_courses_material_progress_material_id_courses_material'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_courses_material_progress')),
    sa.UniqueConstraint('enrolment_id', 'material_id', name=op.f('uq_courses_material_progress_enrolment_id_material_id'))
    )
    with op.batch_alter_table('courses_material_progress', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_courses_material_progress_enrolment_id'), ['enrolment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_courses_material_progress_material_id'), ['material_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('courses_material_progress', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_material_progress_material_id'))
        batch_op.drop_index(batch_op.f('ix_courses_material_progress_enrolment_id'))

    op.drop_table('courses_material_progress')
    with op.batch_alter_table('courses_material', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_material_lesson_id'))

    op.drop_table('courses_material')
    with op.batch_alter_table('courses_hours_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_courses_hours_entry_user_year')
        batch_op.drop_index(batch_op.f('ix_courses_hours_entry_course_id'))

    op.drop_table('courses_hours_entry')
    with op.batch_alter_table('courses_lesson', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_lesson_module_id'))

    op.drop_table('courses_lesson')
    with op.batch_alter_table('courses_enrolment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_enrolment_version_id'))
        batch_op.drop_index(batch_op.f('ix_courses_enrolment_user_id'))
        batch_op.drop_index(batch_op.f('ix_courses_enrolment_rule_id'))
        batch_op.drop_index(batch_op.f('ix_courses_enrolment_course_id'))
        batch_op.drop_index(batch_op.f('ix_courses_enrolment_completed_at'))

    op.drop_table('courses_enrolment')
    with op.batch_alter_table('courses_prerequisite', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_prerequisite_required_course_id'))

    op.drop_table('courses_prerequisite')
    with op.batch_alter_table('courses_module', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_module_course_id'))

    op.drop_table('courses_module')
    with op.batch_alter_table('courses_enrolment_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_enrolment_rule_org_unit_id'))
        batch_op.drop_index(batch_op.f('ix_courses_enrolment_rule_course_id'))

    op.drop_table('courses_enrolment_rule')
    with op.batch_alter_table('courses_course_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_course_version_course_id'))

    op.drop_table('courses_course_version')
    with op.batch_alter_table('courses_course', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_course_owner_id'))
        batch_op.drop_index(batch_op.f('ix_courses_course_curriculum_id'))

    op.drop_table('courses_course')
    op.drop_table('courses_hours_requirement')
    with op.batch_alter_table('courses_curriculum', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_courses_curriculum_tier'))
        batch_op.drop_index(batch_op.f('ix_courses_curriculum_org_unit_id'))

    op.drop_table('courses_curriculum')
