-- Releases never change but by their lifecycle (migrations/20261204000001_releases.ts): a published
-- release is what the public was shown, so its content columns, its pins and its features are
-- refused any UPDATE or DELETE; a release row's status moves only forward:
--   draft → published | withdrawn;  published → superseded | withdrawn;  superseded → withdrawn.
-- The 审图号 and 批复文号 may be given when a draft is published; nothing else of it changes.
-- Applied on every start after the knex migrations (server/platform/db.ts); idempotent.

CREATE OR REPLACE FUNCTION release_lifecycle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'release % cannot be deleted; withdraw it instead', OLD.number USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF NOT ((OLD.status = 'draft' AND NEW.status IN ('draft', 'published', 'withdrawn'))
       OR (OLD.status = 'published' AND NEW.status IN ('superseded', 'withdrawn'))
       OR (OLD.status = 'superseded' AND NEW.status = 'withdrawn')) THEN
    RAISE EXCEPTION 'release %: % → % is not a lifecycle step', OLD.number, OLD.status, NEW.status USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF (NEW.number, NEW.title, NEW.notes, NEW.department, NEW.prepared_by, NEW.prepared_at, NEW.conflicts, NEW.registry, NEW.content_sha256)
     IS DISTINCT FROM (OLD.number, OLD.title, OLD.notes, OLD.department, OLD.prepared_by, OLD.prepared_at, OLD.conflicts, OLD.registry, OLD.content_sha256)
     OR (OLD.status <> 'draft' AND (NEW.review_number, NEW.approval_number, NEW.published_by, NEW.published_at)
                                   IS DISTINCT FROM (OLD.review_number, OLD.approval_number, OLD.published_by, OLD.published_at)) THEN
    RAISE EXCEPTION 'release % is immutable: a correction is a new release', OLD.number USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER releases_lifecycle BEFORE UPDATE OR DELETE ON releases
FOR EACH ROW EXECUTE FUNCTION release_lifecycle();
CREATE OR REPLACE TRIGGER releases_no_truncate BEFORE TRUNCATE ON releases
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('releases cannot be removed');
CREATE OR REPLACE TRIGGER release_layers_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON release_layers
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('a release''s pins never change: a correction is a new release');
CREATE OR REPLACE TRIGGER release_features_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON release_features
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('a release''s features never change: a correction is a new release');
CREATE OR REPLACE TRIGGER release_conflicts_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON release_conflicts
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('a release''s conflict situation never changes');
CREATE OR REPLACE TRIGGER release_tiles_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON release_tiles
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('a release''s tiles are written once');
CREATE OR REPLACE TRIGGER release_files_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON release_files
FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('a release''s archive is written once');
