// The object store's update path: replace (PUT) and server-side apply,
// with field ownership, the last-applied configuration and conflicts.
#include "rockpool/specs/object_store.hpp"

#include "object_store_detail.hpp"

namespace rockpool::specs {

using namespace store_detail;

namespace {

// Why an apply by manager of obj, owned by owner, is refused, and what to do.
std::string apply_conflict(const json::value& obj, const std::string& owner,
                           const std::string& manager) {
  auto what = "Apply failed: " + describe(string_at(obj, "kind"), string_at(obj, "metadata.name")) +
              " is managed by \"" + owner + "\", not \"" + manager + "\"";
  std::string sync;
  if (const auto* labels = find_path(obj, "metadata.labels"); labels && labels->is_object())
    if (const auto* v = labels->get_object().if_contains(gitsync_label); v && v->is_string())
      sync = v->get_string();
  if (sync.empty()) return what + "; apply with --force-conflicts to take it over";
  // Taking it over would not last: the GitSync reverts changes made elsewhere.
  return what + ", and GitSync " + sync +
         " puts back any change made elsewhere; change it in that GitSync's source, or set "
         "its spec.suspend to true first";
}

// Three-way merge of a string map (labels, annotations) for apply: keys the
// previous configuration set but the new one does not are removed; others kept.
json::object merge_map(const json::value* live, const json::value* last, const json::value* next,
                       bool keep_rockpool_keys) {
  json::object out = (live && live->is_object()) ? live->get_object() : json::object{};
  if (last && last->is_object())
    for (const auto& kv : last->get_object())
      if (!(next && next->is_object() && next->get_object().contains(kv.key())))
        out.erase(kv.key());
  if (next && next->is_object())
    for (const auto& kv : next->get_object()) out[kv.key()] = kv.value();
  if (!keep_rockpool_keys) {
    out.erase(managed_by_annotation);
    out.erase(last_applied_annotation);
  }
  return out;
}




// What the user sent, kept verbatim (before defaults) as the last-applied
// configuration of server-side apply.
json::value applied_configuration(const json::value& obj) {
  json::value applied =
      json::object{{"apiVersion", obj.at("apiVersion")}, {"kind", obj.at("kind")}};
  json::object m{{"name", string_at(obj, "metadata.name")}};
  const auto& in_meta = obj.at("metadata").get_object();
  for (const char* f : {"labels", "annotations", "finalizers", "ownerReferences"})
    if (const auto* v = in_meta.if_contains(f); v && !v->is_null()) m[f] = *v;
  if (auto* a = m.if_contains("annotations"); a && a->is_object()) {
    a->get_object().erase(managed_by_annotation);
    a->get_object().erase(last_applied_annotation);
    if (a->get_object().empty()) m.erase("annotations");
  }
  applied.get_object()["metadata"] = std::move(m);
  if (const auto* spec = obj.as_object().if_contains("spec")) applied.get_object()["spec"] = *spec;
  return applied;
}

// Server-side apply's metadata: labels and annotations merged with what the
// manager applied last time, ownership recorded.
void merge_applied_metadata(json::object& meta, const json::value& old, const json::object& in_meta,
                            const json::value& applied, const std::string& manager) {
  json::value last;
  if (auto parsed = parse_json(annotation(old, last_applied_annotation)); parsed.ok())
    last = std::move(*parsed);
  meta["labels"] = merge_map(find_path(old, "metadata.labels"), find_path(last, "metadata.labels"),
                             in_meta.if_contains("labels"), true);
  auto ann =
      merge_map(find_path(old, "metadata.annotations"), find_path(last, "metadata.annotations"),
                in_meta.if_contains("annotations"), false);
  ann[managed_by_annotation] = manager;
  ann[last_applied_annotation] = json::serialize(applied);
  meta["annotations"] = std::move(ann);
  if (in_meta.contains("finalizers")) copy_meta_field(meta, in_meta, "finalizers");
  if (in_meta.contains("ownerReferences")) copy_meta_field(meta, in_meta, "ownerReferences");
  if (meta["labels"].get_object().empty()) meta.erase("labels");
}

// Sets next's spec from obj's; bumps the generation iff the spec changed.
void take_spec(json::value& next, const json::value& old, const json::value& obj) {
  const auto* new_spec = obj.as_object().if_contains("spec");
  const auto* old_spec = old.as_object().if_contains("spec");
  bool spec_changed =
      (new_spec == nullptr) != (old_spec == nullptr) || (new_spec && *new_spec != *old_spec);
  if (new_spec)
    next.as_object()["spec"] = *new_spec;
  else
    next.as_object().erase("spec");
  if (spec_changed)
    meta_of(next)["generation"] = int_at(old, "metadata.generation").value_or(0) + 1;
}

}  // namespace

result<write_outcome> object_store::update_existing(json::value obj, const write_request& req,
                                                    bool force, bool is_apply) {
  auto admitted = admit(obj);
  auto kind = string_at(obj, "kind");
  auto name = string_at(obj, "metadata.name");
  auto precondition = is_apply ? std::nullopt : body_precondition(obj);
  json::value applied = is_apply ? applied_configuration(obj) : json::value();
  default_object(obj);
  auto problems = validate_object(obj, validation());
  if (!problems.empty()) return invalid(obj, std::move(problems));
  auto key = kind + "/" + name;
  return retry_on_race(
      kind, name,
      [&](const std::optional<current>& cur) -> attempt_outcome {
        if (!cur && !is_apply)
          return make_error(reason::not_found, describe(kind, name) + " not found");
        if (precondition && (!cur || *precondition != cur->revision)) return stale(kind, name);
        if (!cur) {
          // Apply of a new object: create it, recording ownership.
          json::value to_create = obj;
          auto& ann = ensure_object(meta_of(to_create), "annotations");
          ann[managed_by_annotation] = req.manager;
          ann[last_applied_annotation] = json::serialize(applied);
          auto out = create_admitted(std::move(to_create), req);
          if (!out.ok() && out.err().why == reason::already_exists) return std::nullopt;
          return out;
        }
        json::value next = cur->object;
        auto& meta = meta_of(next);
        const auto& in_meta = obj.at("metadata").get_object();
        if (is_apply) {
          auto owner = annotation(cur->object, managed_by_annotation);
          if (!owner.empty() && owner != req.manager && !force)
            return make_error(reason::conflict, apply_conflict(cur->object, owner, req.manager));
          merge_applied_metadata(meta, cur->object, in_meta, applied, req.manager);
        } else {
          for (const char* f : {"labels", "annotations", "finalizers", "ownerReferences"})
            copy_meta_field(meta, in_meta, f);
        }
        take_spec(next, cur->object, obj);
        if (meta.contains("deletionTimestamp") && !has_finalizers(next))
          return finish_deletion(key, *cur, std::move(next), req, true);
        auto r = commit(key, cur, std::move(next), write_effect::configured, req);
        if (lost_race(r)) {
          if (precondition) return stale(kind, name);
          return std::nullopt;
        }
        return r;
      },
      [&] { return stale(kind, name); });
}

// The last finalizer is gone: the object can finally be removed.
object_store::attempt_outcome object_store::finish_deletion(const std::string& key,
                                                            const current& old, json::value last,
                                                            const write_request& req,
                                                            bool may_retry) {
  if (req.dry_run) return write_outcome{std::move(last), write_effect::deleted};
  auto rev = backend_.commit(kv_write{key, old.revision, std::nullopt});
  if (may_retry && lost_race(rev)) return std::nullopt;
  if (!rev.ok()) return rev.err();
  count(key.substr(0, key.find('/')), -1);
  return write_outcome{std::move(last), write_effect::deleted};
}

result<write_outcome> object_store::replace(json::value obj, const write_request& req) {
  if (!obj.is_object()) return make_error(reason::bad_request, "body must be a JSON object");
  return update_existing(std::move(obj), req, false, false);
}

result<write_outcome> object_store::apply(json::value obj, const write_request& req, bool force) {
  if (!obj.is_object()) return make_error(reason::bad_request, "body must be a JSON object");
  if (req.manager.empty()) return make_error(reason::bad_request, "apply requires a fieldManager");
  // Status and server-owned metadata in an applied configuration are ignored, so
  // the output of `get -o yaml` can be applied back.
  auto& o = obj.as_object();
  o.erase("status");
  if (auto* m = o.if_contains("metadata"); m && m->is_object())
    for (const char* f : {"uid", "generation", "resourceVersion", "creationTimestamp",
                          "deletionTimestamp", "managedFields"})
      m->get_object().erase(f);
  if (!o.contains("spec")) {
    // A metadata-only apply (kubectl's `kubectl-last-applied` manager sends
    // one): the labels and annotations it names are merged into the existing
    // object; its spec and its owner stay as they are.
    auto kind = string_at(obj, "kind");
    auto name = string_at(obj, "metadata.name");
    if (auto cur = get(kind, name); cur.ok()) {
      json::object meta;
      for (const char* f : {"labels", "annotations"})
        if (const auto* v = find_path(obj, std::string("metadata.") + f); v && v->is_object())
          meta[f] = *v;
      if (auto* a = meta.if_contains("annotations"))
        for (const char* own : {managed_by_annotation, last_applied_annotation})
          a->as_object().erase(own);
      return merge_patch(kind, name, json::object{{"metadata", std::move(meta)}}, req);
    }
  }
  return update_existing(std::move(obj), req, force, true);
}

}  // namespace rockpool::specs
