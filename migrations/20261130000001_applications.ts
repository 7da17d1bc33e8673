// Joint review of project sites (联动审批, issue 5). The window of the government service centre
// submits an application once; each submission (the first and every amendment) is a version with
// its site, the compliance check made against the plans at that moment (with the plan revisions it
// used) and the departments it must go to. Each required department signs one opinion per version;
// a signed opinion is never changed (a correction is a new entry that names the one it corrects).
// The outcome is derived from the opinions and kept on the application for lists and inboxes.
//
//   applications          one row per application: number, status, current version, row version
//   application_versions  the versions: fields, site (EPSG:4490), check (jsonb), required departments
//   application_findings  the overlaps the check found (rules broken, sensitive zones), for the map
//   application_opinions  signed opinions, append-only (triggers refuse UPDATE and DELETE)
//   application_events    the timeline; every event goes to the audit trail at commit
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
CREATE TABLE applications (
  id serial PRIMARY KEY,
  number text NOT NULL UNIQUE,
  status text NOT NULL CHECK (status IN ('under_review', 'approved', 'rejected', 'withdrawn')),
  current_version integer NOT NULL,
  submitted_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  row_version integer NOT NULL DEFAULT 1
)`);
  await knex.raw('CREATE INDEX applications_status ON applications (status)');

  await knex.raw(`
CREATE TABLE application_versions (
  application_id integer NOT NULL REFERENCES applications (id),
  version integer NOT NULL CHECK (version >= 1),
  name text NOT NULL,
  project_type text NOT NULL,
  investor text NOT NULL,
  requested_area_m2 double precision CHECK (requested_area_m2 > 0),
  site geometry(MultiPolygon, 4490) NOT NULL CHECK (ST_IsValid(site)),
  site_area_m2 double precision NOT NULL,
  site_source text NOT NULL CHECK (site_source IN ('drawn', 'upload', 'points')),
  site_input jsonb NOT NULL DEFAULT '{}',
  note text,
  submitted_by text NOT NULL,
  submitted_by_id integer NOT NULL REFERENCES accounts (id),
  submitted_at timestamptz NOT NULL DEFAULT now(),
  deadline date NOT NULL,
  verdict text NOT NULL CHECK (verdict IN ('compliant', 'conflicting', 'needs_review')),
  "check" jsonb NOT NULL,
  required jsonb NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('under_review', 'approved', 'rejected', 'withdrawn', 'superseded')),
  PRIMARY KEY (application_id, version)
)`);
  await knex.raw('CREATE INDEX application_versions_site ON application_versions USING gist (site)');

  await knex.raw(`
CREATE TABLE application_findings (
  application_id integer NOT NULL,
  version integer NOT NULL,
  kind text NOT NULL CHECK (kind IN ('rule', 'alert')),
  ref text NOT NULL,
  geom geometry(MultiPolygon, 4490) NOT NULL,
  area_m2 double precision NOT NULL,
  PRIMARY KEY (application_id, version, kind, ref),
  FOREIGN KEY (application_id, version) REFERENCES application_versions (application_id, version)
)`);

  await knex.raw(`
CREATE TABLE application_opinions (
  id serial PRIMARY KEY,
  application_id integer NOT NULL,
  version integer NOT NULL,
  department text NOT NULL,
  decision text NOT NULL CHECK (decision IN ('approve', 'conditional', 'reject')),
  conditions text,
  reason text,
  note text,
  corrects integer UNIQUE REFERENCES application_opinions (id),
  author text NOT NULL,
  author_id integer NOT NULL REFERENCES accounts (id),
  signed_at timestamptz NOT NULL,
  signature text NOT NULL CHECK (signature ~ '^[0-9a-f]{64}$'),
  FOREIGN KEY (application_id, version) REFERENCES application_versions (application_id, version),
  CHECK (decision <> 'conditional' OR conditions IS NOT NULL),
  CHECK (decision <> 'reject' OR reason IS NOT NULL),
  CHECK (corrects IS NULL OR note IS NOT NULL)
)`);
  // One first opinion per department and version; further entries are corrections, each of one entry.
  await knex.raw('CREATE UNIQUE INDEX application_opinions_one ON application_opinions (application_id, version, department) WHERE corrects IS NULL');
  await knex.raw(`
CREATE FUNCTION application_opinion_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'a signed opinion cannot be changed or removed; record a correction instead' USING ERRCODE = 'insufficient_privilege';
END $$`);
  await knex.raw('CREATE TRIGGER application_opinions_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON application_opinions FOR EACH STATEMENT EXECUTE FUNCTION application_opinion_immutable()');

  await knex.raw(`
CREATE TABLE application_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id integer NOT NULL REFERENCES applications (id),
  version integer NOT NULL,
  kind text NOT NULL CHECK (kind IN ('submitted', 'resubmitted', 'opinion', 'correction', 'approved', 'rejected', 'withdrawn')),
  actor text NOT NULL,
  department text,
  at timestamptz NOT NULL DEFAULT now(),
  detail jsonb NOT NULL DEFAULT '{}'
)`);
  await knex.raw('CREATE INDEX application_events_application ON application_events (application_id, id)');

  // Every event of the timeline goes to the audit trail (…_audit.ts) at commit.
  await knex.raw(`
CREATE FUNCTION audit_application_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM audit_append(NEW.actor, 'application.' || NEW.kind, (SELECT number FROM applications WHERE id = NEW.application_id) || 'v' || NEW.version,
    jsonb_strip_nulls(NEW.detail || jsonb_build_object('event', NEW.id, 'department', NEW.department)));
  RETURN NULL;
END $$`);
  await knex.raw(`CREATE CONSTRAINT TRIGGER application_events_audit AFTER INSERT ON application_events DEFERRABLE INITIALLY DEFERRED
                  FOR EACH ROW EXECUTE FUNCTION audit_application_event()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE IF EXISTS application_events, application_opinions, application_findings, application_versions, applications');
  await knex.raw('DROP FUNCTION IF EXISTS audit_application_event()');
  await knex.raw('DROP FUNCTION IF EXISTS application_opinion_immutable()');
}
