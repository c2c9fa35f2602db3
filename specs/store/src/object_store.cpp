#include "rockpool/specs/object_store.hpp"

#include "object_store_detail.hpp"

#include <thread>

#include "rockpool/specs/schema.hpp"
#include "rockpool/specs/validation.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <random>

namespace rockpool::specs {

using namespace store_detail;

object_store::object_store(kv_backend& backend, const clock& clock,
                           std::vector<std::string> outer_networks, const semantic_rules* rules)
    : backend_(backend), clock_(clock), outer_networks_(std::move(outer_networks)), rules_(rules) {
  for (const auto& k : kinds()) {
    auto n = backend_.count(k.kind + "/", keyspace::objects);
    counts_[k.kind] = n.ok() ? *n : 0;
  }
}

std::map<std::string, std::uint64_t> object_store::counts() const {
  std::lock_guard lk(counts_mu_);
  return counts_;
}

void object_store::count(const std::string& kind, int delta) {
  std::lock_guard lk(counts_mu_);
  auto& n = counts_[kind];
  n = delta < 0 && n == 0 ? 0 : n + delta;
}

namespace {

// A stored record as the object clients see: parsed, with its resourceVersion.
result<json::value> decoded(const std::string& kind, const std::string& name,
                            const kv_record& rec) {
  auto parsed = parse_json(rec.value);
  if (!parsed.ok())
    return make_error(reason::internal, "stored object " + kind + "/" + name +
                                            " is corrupt: " + parsed.err().message);
  auto obj = std::move(*parsed);
  meta_of(obj)["resourceVersion"] = std::to_string(rec.mod_revision);
  return obj;
}

}  // namespace

result<std::optional<object_store::current>> object_store::read(const std::string& kind,
                                                                const std::string& name) {
  auto rec = backend_.get(kind + "/" + name);
  if (!rec.ok()) return rec.err();
  if (!*rec) return std::optional<current>{};
  auto obj = decoded(kind, name, **rec);
  if (!obj.ok()) return obj.err();
  return std::optional<current>{current{std::move(*obj), (*rec)->mod_revision}};
}

validation_context object_store::validation() {
  return validation_context{
      [this](const std::string& k, const std::string& n) -> std::optional<json::value> {
        auto r = get(k, n);
        if (r.ok()) return std::move(*r);
        return std::nullopt;
      },
      [this](const std::string& k) {
        auto r = list(k);
        return r.ok() ? std::move(r->items) : std::vector<json::value>{};
      },
      outer_networks_, rules_,
      /*sees_store=*/true};
}

result<write_outcome> object_store::retry_on_race(const std::string& kind, const std::string& name,
                                                  const attempt_fn& attempt,
                                                  const std::function<error()>& exhausted,
                                                  bool absent_first) {
  for (int i = 0; i < max_race_retries; ++i) {
    if (i >= 4) std::this_thread::yield();  // let the winners finish
    // A create tries first without reading: its compare-and-swap against
    // "absent" fails if the object exists, and the next try reads it.
    if (i == 0 && absent_first) {
      if (auto out = attempt(std::nullopt)) return std::move(*out);
      continue;
    }
    auto cur = read(kind, name);
    if (!cur.ok()) return cur.err();
    if (auto out = attempt(*cur)) return std::move(*out);
  }
  return exhausted();
}

status object_store::ready() {
  return backend_.ready();
}

bool object_store::wait_for_revision(std::uint64_t after, std::chrono::milliseconds timeout) {
  return backend_.wait_for_revision(after, timeout);
}

result<json::value> object_store::get(const std::string& kind, const std::string& name) {
  auto cur = read(kind, name);
  if (!cur.ok()) return cur.err();
  if (!*cur) return make_error(reason::not_found, describe(kind, name) + " not found");
  return std::move((*cur)->object);
}

result<std::string> object_store::get_text(const std::string& kind, const std::string& name) {
  auto rec = backend_.get(kind + "/" + name);
  if (!rec.ok()) return rec.err();
  if (!*rec) return make_error(reason::not_found, describe(kind, name) + " not found");
  auto rv = std::to_string((*rec)->mod_revision);
  if (auto spliced = append_to_member((*rec)->value, "metadata", "resourceVersion", rv))
    return std::move(*spliced);
  auto obj = decoded(kind, name, **rec);  // not the shape stored objects have: the long way
  if (!obj.ok()) return obj.err();
  return json::serialize(*obj);
}

result<list_outcome> object_store::list(const std::string& kind, const label_selector& selector) {
  return list_page(kind, selector, 0, 0, "");
}

result<list_outcome> object_store::list_page(const std::string& kind,
                                             const label_selector& selector, std::size_t limit,
                                             std::uint64_t at, const std::string& after) {
  const std::string prefix = kind + "/";
  std::string start = after.empty() ? std::string() : prefix + after;
  list_outcome out;
  while (true) {
    // A selector may skip records: read on, at the same revision, until the
    // page is full or the kind is read through.
    auto page = backend_.list_page(prefix, start, limit == 0 ? 0 : limit - out.items.size(), at);
    if (!page.ok()) return page.err();
    out.revision = at = page->revision;
    for (auto& rec : page->records) {
      auto parsed = parse_json(rec.value);
      if (!parsed.ok()) continue;
      auto obj = std::move(*parsed);
      meta_of(obj)["resourceVersion"] = std::to_string(rec.mod_revision);
      if (selector.matches(obj)) out.items.push_back(std::move(obj));
    }
    if (!page->more) return out;
    start = page->records.empty() ? start : page->records.back().key;
    if (limit != 0 && out.items.size() == limit) {
      out.continue_after = start.substr(prefix.size());
      return out;
    }
  }
}

result<write_outcome> object_store::commit(const std::string& key,
                                           const std::optional<current>& old, json::value next,
                                           write_effect effect, const write_request& req) {
  next = strip_rv(std::move(next));
  if (old && strip_rv(old->object) == next)
    return write_outcome{old->object, write_effect::unchanged};
  if (req.dry_run) {
    if (old) meta_of(next)["resourceVersion"] = std::to_string(old->revision);
    return write_outcome{std::move(next), effect};
  }
  kv_write w{key, old ? old->revision : 0, json::serialize(next)};
  auto rev = backend_.commit(w);
  if (!rev.ok()) return rev.err();
  meta_of(next)["resourceVersion"] = std::to_string(*rev);
  return write_outcome{std::move(next), effect};
}

std::vector<std::unique_lock<std::mutex>> object_store::admit(const json::value& obj) {
  std::vector<std::unique_lock<std::mutex>> held;
  if (rules_ == nullptr) return held;
  auto rule = rules_->find(string_at(obj, "kind"));
  if (rule == rules_->end() || !rule->second.exclusive) return held;
  std::vector<std::size_t> stripes;
  for (const auto& key : rule->second.exclusive(obj))
    stripes.push_back(std::hash<std::string>{}(key) % admission_.size());
  std::sort(stripes.begin(), stripes.end());
  stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
  for (auto s : stripes) held.emplace_back(admission_[s]);
  return held;
}

result<write_outcome> object_store::create(json::value obj, const write_request& req) {
  auto admitted = admit(obj);
  return create_admitted(std::move(obj), req);
}

result<write_outcome> object_store::create_admitted(json::value obj, const write_request& req) {
  if (!obj.is_object()) return make_error(reason::bad_request, "body must be a JSON object");
  if (!string_at(obj, "metadata.resourceVersion").empty())
    return make_error(reason::bad_request,
                      "metadata.resourceVersion: must not be set on objects to be created");
  default_object(obj);
  auto problems = validate_object(obj, validation());
  if (!problems.empty()) return invalid(obj, std::move(problems));
  auto kind = string_at(obj, "kind");
  auto name = string_at(obj, "metadata.name");
  return retry_on_race(
      kind, name,
      [&](const std::optional<current>& cur) -> attempt_outcome {
        if (cur)
          return make_error(reason::already_exists, describe(kind, name) + " already exists");
        json::value next = json::object{{"apiVersion", api_version}, {"kind", kind}};
        auto& meta = meta_of(next);
        const auto& in_meta = obj.at("metadata").get_object();
        meta["name"] = name;
        meta["uid"] = new_uid();
        meta["generation"] = 1;
        meta["creationTimestamp"] = format_rfc3339(clock_.now());
        for (const char* f : {"labels", "annotations", "finalizers", "ownerReferences"})
          copy_meta_field(meta, in_meta, f);
        if (auto fin = creation_finalizers_.find(kind); fin != creation_finalizers_.end())
          add_finalizer(meta, fin->second);
        if (const auto* spec = obj.as_object().if_contains("spec"))
          next.as_object()["spec"] = *spec;
        auto out =
            commit(kind + "/" + name, std::nullopt, std::move(next), write_effect::created, req);
        if (lost_race(out)) return std::nullopt;  // raced with another create
        if (out.ok() && !req.dry_run) count(kind, +1);
        return out;
      },
      [&] { return make_error(reason::already_exists, describe(kind, name) + " already exists"); },
      /*absent_first=*/!req.dry_run);  // a dry run commits nothing, so it must read
}

result<write_outcome> object_store::replace_status(json::value obj, const write_request& req) {
  if (!obj.is_object()) return make_error(reason::bad_request, "body must be a JSON object");
  auto kind = string_at(obj, "kind");
  auto name = string_at(obj, "metadata.name");
  if (find_kind(kind) == nullptr)
    return make_error(reason::bad_request, "unknown kind \"" + kind + "\"");
  auto problems = validate_status(obj);
  if (!problems.empty()) return invalid(obj, std::move(problems));
  auto precondition = body_precondition(obj);
  return retry_on_race(
      kind, name,
      [&](const std::optional<current>& cur) -> attempt_outcome {
        if (!cur) return make_error(reason::not_found, describe(kind, name) + " not found");
        if (precondition && *precondition != cur->revision) return stale(kind, name);
        json::value next = cur->object;
        if (const auto* st = obj.as_object().if_contains("status"))
          next.as_object()["status"] = *st;
        else
          next.as_object().erase("status");
        auto r = commit(kind + "/" + name, cur, std::move(next), write_effect::configured, req);
        if (lost_race(r)) {
          if (precondition) return stale(kind, name);
          return std::nullopt;
        }
        return r;
      },
      [&] { return stale(kind, name); });
}

result<write_outcome> object_store::merge_patch(const std::string& kind, const std::string& name,
                                                const json::value& patch,
                                                const write_request& req) {
  return merge_patch_then(kind, name, patch, [&](json::value patched) {
    return update_existing(std::move(patched), req, false, false);
  });
}

result<write_outcome> object_store::merge_patch_status(const std::string& kind,
                                                       const std::string& name,
                                                       const json::value& patch,
                                                       const write_request& req) {
  return merge_patch_then(kind, name, patch, [&](json::value patched) {
    return replace_status(std::move(patched), req);
  });
}

result<write_outcome> object_store::merge_patch_then(
    const std::string& kind, const std::string& name, const json::value& patch,
    const std::function<result<write_outcome>(json::value)>& write) {
  if (!patch.is_object()) return make_error(reason::bad_request, "a merge patch must be an object");
  bool pinned_by_caller = !string_at(patch, "metadata.resourceVersion").empty();
  return patch_then(
      kind, name, [&](const json::value& cur) { return apply_merge_patch(cur, patch); },
      pinned_by_caller, write);
}

result<write_outcome> object_store::json_patch(const std::string& kind, const std::string& name,
                                               const json::value& patch, bool status_only,
                                               const write_request& req) {
  // Pinned when the patch itself sets metadata.resourceVersion (a `test` of
  // it is the usual way: it fails, and is not retried, on a newer object).
  bool pinned = false;
  if (patch.is_array())
    for (const auto& op : patch.get_array())
      pinned = pinned || string_at(op, "path") == "/metadata/resourceVersion";
  return patch_then(
      kind, name, [&](const json::value& cur) { return apply_json_patch(cur, patch); }, pinned,
      [&](json::value patched) {
        return status_only ? replace_status(std::move(patched), req)
                           : update_existing(std::move(patched), req, false, false);
      });
}

result<write_outcome> object_store::patch_then(
    const std::string& kind, const std::string& name,
    const std::function<result<json::value>(const json::value&)>& patcher, bool pinned_by_caller,
    const std::function<result<write_outcome>(json::value)>& write) {
  return retry_on_race(
      kind, name,
      [&](const std::optional<current>& cur) -> attempt_outcome {
        if (!cur) return make_error(reason::not_found, describe(kind, name) + " not found");
        auto applied = patcher(cur->object);
        if (!applied.ok()) return applied.err();
        auto patched = std::move(*applied);
        if (!patched.is_object() || string_at(patched, "kind") != kind ||
            string_at(patched, "metadata.name") != name)
          return make_error(reason::bad_request, "a patch may not change kind or metadata.name");
        // Pin the write to the revision the patch was computed from.
        if (!pinned_by_caller) meta_of(patched)["resourceVersion"] = std::to_string(cur->revision);
        auto r = write(std::move(patched));
        if (!pinned_by_caller && lost_race(r)) return std::nullopt;
        return r;
      },
      [&] { return stale(kind, name); });
}

result<write_outcome> object_store::remove(const std::string& kind, const std::string& name,
                                           std::optional<std::uint64_t> precondition,
                                           const write_request& req) {
  return retry_on_race(
      kind, name,
      [&](const std::optional<current>& cur) -> attempt_outcome {
        if (!cur) return make_error(reason::not_found, describe(kind, name) + " not found");
        if (precondition && *precondition != cur->revision) return stale(kind, name);
        auto key = kind + "/" + name;
        if (!has_finalizers(cur->object))
          return finish_deletion(key, *cur, cur->object, req, !precondition);
        json::value next = cur->object;
        auto& meta = meta_of(next);
        if (!meta.contains("deletionTimestamp")) {
          meta["deletionTimestamp"] = format_rfc3339(clock_.now());
          // As in Kubernetes: controllers see deletion as a new generation to act on.
          meta["generation"] = int_at(cur->object, "metadata.generation").value_or(0) + 1;
        }
        auto r = commit(key, cur, std::move(next), write_effect::terminating, req);
        if (!precondition && lost_race(r)) return std::nullopt;
        if (r.ok()) r->effect = write_effect::terminating;
        return r;
      },
      [&] { return stale(kind, name); });
}

result<std::vector<watch_event>> object_store::events_after(std::uint64_t after,
                                                            std::size_t limit) {
  auto raw = backend_.events_after(after, limit);
  if (!raw.ok()) return raw.err();
  std::vector<watch_event> out;
  out.reserve(raw->size());
  for (auto& e : *raw) {
    auto parsed = parse_json(e.value);
    if (!parsed.ok()) continue;
    watch_event we;
    we.type = e.kind == kv_event::type::added      ? "ADDED"
              : e.kind == kv_event::type::modified ? "MODIFIED"
                                                   : "DELETED";
    we.object = std::move(*parsed);
    meta_of(we.object)["resourceVersion"] = std::to_string(e.revision);
    we.revision = e.revision;
    out.push_back(std::move(we));
  }
  return out;
}

}  // namespace rockpool::specs
