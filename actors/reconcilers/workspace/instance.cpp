// The workspace's Incus instance: adopted, created, or refused when another
// owner has the name; spec changes applied live or at the next start.
#include "workspace/workspace.hpp"

namespace rockpool::actors::workspace {

using namespace common;
using specs::string_at;

namespace {

// An instance a deleted workspace of the same name left behind.
bool left_by_an_earlier_incarnation(const runtime::instance_info& inst, const json::value& obj) {
  auto kind = inst.config.find(runtime::owner_kind_key);
  auto name = inst.config.find(runtime::owner_name_key);
  return kind != inst.config.end() && name != inst.config.end() &&
         kind->second == string_at(obj, "kind") && name->second == string_at(obj, "metadata.name");
}

}  // namespace

bool made_by_rockpool_for(const runtime::instance_info& inst, const json::value& obj) {
  auto it = inst.config.find(runtime::owner_uid_key);
  return it != inst.config.end() && it->second == string_at(obj, "metadata.uid");
}

pass::step pass::check_image() {
  auto image = ctx_.incus.image_exists(s_.image);
  if (!image.ok())
    return fail("IncusUnavailable", image.err().message, failed(image.err()));
  if (*image) return std::nullopt;
  auto m = "image \"" + s_.image + "\" does not exist in Incus";
  if (old_.phase != typed::status_phase::Failed)
    ctx_.events.record(obj_, "Warning", "ImageNotFound", m);
  return fail("ImageNotFound", m, terminal(m));
}

// The instance of the workspace's name, if any: adopted when Rockpool made it
// for this object, replaced when an earlier incarnation left it, refused
// otherwise (before anything is made for the workspace).
pass::step pass::observe_instance() {
  auto got = ctx_.incus.get_instance(s_.name);
  if (!got.ok()) return fail("IncusUnavailable", got.err().message, failed(got.err()));
  inst_ = std::move(*got);
  if (inst_ && !made_by_rockpool_for(*inst_, obj_)) {
    if (!left_by_an_earlier_incarnation(*inst_, obj_)) {
      auto m = "an Incus instance named \"" + s_.name + "\" exists and is not managed by Rockpool";
      return fail("NameConflict", m, terminal(m));
    }
    if (specs::annotation(obj_, adopt_annotation) == "true") {
      // Asked to take it over as it runs (an orphan after a restore): its
      // owner keys move to this object; nothing is restarted.
      auto old_uid = inst_->config[runtime::owner_uid_key];
      if (auto st = ctx_.incus.update_instance(s_.name, {{{runtime::owner_uid_key, s_.uid}}, "", {}});
          !st.ok())
        return fail("AdoptFailed", st.err().message, failed(st.err()));
      inst_->config[runtime::owner_uid_key] = s_.uid;
      ctx_.events.record(obj_, "Normal", "InstanceAdopted",
                         "took over instance " + s_.name + " left by uid " + old_uid + " (" +
                             adopt_annotation + ")");
      return std::nullopt;
    }
    if (auto st = ctx_.incus.delete_instance(s_.name); !st.ok())
      return fail("DeleteFailed", st.err().message, failed(st.err()));
    inst_ = std::nullopt;
  }
  return std::nullopt;
}

pass::step pass::ensure_instance() {
  build_spec();
  if (auto r = recreate_for_new_image()) return r;
  if (!inst_) {
    created_now_ = true;
    if (had_instance_ && !recreating_) {
      if (auto wait = wait_out_crash_loop()) return wait;
      record_restart("InstanceVanished", "instance " + s_.name + " disappeared; recreating it");
    }
    spec_.source_snapshot = clone_instance_;
    if (auto st = ctx_.incus.create_instance(spec_); !st.ok()) {
      if (spec_.nic) {
        // The bridge may be what is missing: recreate it and try again.
        auto bridge = ctx_.bridge->ensure(ctx_.incus);
        if (!bridge.ready || bridge.reason == "Created")
          return fail("BridgeUnavailable", bridge.message, failed(st.err()));
      }
      if (st.err().why == specs::reason::not_found)
        return fail("ImageNotFound", st.err().message, terminal(st.err().message));
      return fail("CreateFailed", st.err().message, failed(st.err()));
    }
    next_.instance = s_.name;
    if (!had_instance_)
      ctx_.events.record(obj_, "Normal", "InstanceCreated",
                         "created instance " + s_.name + " from " +
                             (clone_instance_.empty() ? s_.image
                                                      : "workspacesnapshot/" + s_.source_snapshot));
    auto fresh = ctx_.incus.get_instance(s_.name);
    if (!fresh.ok() || !*fresh)
      return fail("IncusUnavailable", "instance not visible after create",
                  failed(specs::make_error(specs::reason::unavailable,
                                           "instance not visible after create")));
    inst_ = std::move(*fresh);
  }
  next_.instance = s_.name;
  if (auto r = ensure_nic()) return r;
  if (spec_.home && inst_->home != spec_.home) {
    if (auto st = ctx_.incus.set_disk_device(s_.name, *spec_.home); !st.ok())
      return fail("HomeFailed", st.err().message, failed(st.err()));
    inst_->home = spec_.home;
  }
  // A frozen container is alive: a snapshot pauses it for a moment.
  running_ = inst_->status == "Running" || inst_->status == "Frozen";
  // Spec changes to an existing instance: live ones now, the rest while it is stopped.
  plan_ = runtime::plan_update(*inst_, spec_);
  if (!plan_.live.empty()) {
    if (auto st = ctx_.incus.update_instance(s_.name, plan_.live); !st.ok())
      return fail("UpdateFailed", st.err().message, failed(st.err()));
    ctx_.events.record(obj_, "Normal", "ConfigUpdated",
                       "applied " + join(plan_.live_fields) + " to the instance live");
  }
  return std::nullopt;
}

void pass::build_spec() {
  spec_ = runtime::instance_spec{s_.name,
                                 s_.image,
                                 s_.type,
                                 s_.cpu,
                                 s_.memory,
                                 s_.disk,
                                 s_.nesting,
                                 {{runtime::owner_kind_key, "Workspace"},
                                  {runtime::owner_name_key, s_.name},
                                  {runtime::owner_uid_key, s_.uid}},
                                 s_.profiles,
                                 wanted_nic(),
                                 std::nullopt};
  if (!home_.empty()) spec_.home = runtime::disk_device{"home", home_, home_path};
  for (const auto& [k, v] : s_.environment)
    spec_.config[std::string(runtime::environment_prefix) + k] = v;
  // rockpool-ide's init serves the IDE on $ROCKPOOL_IDE_PORT, 8080 when unset
  // (so instances on the default port carry no extra key).
  if (auto key = std::string(runtime::environment_prefix) + "ROCKPOOL_IDE_PORT";
      s_.ide_port != 8080 && !spec_.config.contains(key))
    spec_.config[key] = std::to_string(s_.ide_port);
}

// A new image or instance type needs a new instance: the old one goes, the
// home volume stays, and the pass goes on to create the new one.
pass::step pass::recreate_for_new_image() {
  if (!inst_ || !spec_.home) return std::nullopt;  // no home to keep: reported, not done
  auto fields = runtime::plan_update(*inst_, spec_).recreate_fields;
  if (fields.empty()) return std::nullopt;
  if (auto st = ctx_.incus.delete_instance(s_.name); !st.ok())
    return fail("DeleteFailed", st.err().message, failed(st.err()));
  ctx_.events.record(obj_, "Normal", "Recreated",
                     "re-creating instance " + s_.name + " for its new " + join(fields) +
                         "; home volume " + home_ + " is kept");
  inst_ = std::nullopt;
  recreating_ = true;
  return std::nullopt;
}

pass::step pass::apply_changes_while_stopped() {
  if (plan_.at_restart.empty()) return std::nullopt;
  if (auto st = ctx_.incus.update_instance(s_.name, plan_.at_restart); !st.ok())
    return fail("UpdateFailed", st.err().message, failed(st.err()));
  ctx_.events.record(obj_, "Normal", "ConfigUpdated",
                     "applied " + join(plan_.restart_fields) + " while the instance was stopped");
  plan_.at_restart = {};
  plan_.restart_fields.clear();
  return std::nullopt;
}

// ConfigApplied: what the spec asks for that the instance does not have yet.
void pass::report_config_gap() {
  const std::vector<std::string>* fields = nullptr;
  const char *reason = nullptr, *event_type = nullptr, *what_now = nullptr;
  if (!plan_.recreate_fields.empty()) {
    fields = &plan_.recreate_fields;
    reason = "RecreateRequired";
    event_type = "Warning";
    what_now =
        " changed; this instance predates home volumes, so it is not re-created by itself "
        "(delete and re-apply the workspace; /home/dev on its root disk is not kept)";
  } else if (!plan_.restart_fields.empty()) {
    fields = &plan_.restart_fields;
    reason = "RestartRequired";
    event_type = "Normal";
    what_now =
        " changed and takes effect when the instance next starts (set "
        "spec.state to Stopped, then Running)";
  }
  if (fields == nullptr) {
    status_.condition("ConfigApplied", true, "Applied", "the instance matches the spec");
    return;
  }
  auto m = join(*fields) + what_now;
  if (last_reason(status_.old(), "ConfigApplied") != reason)
    ctx_.events.record(obj_, event_type, reason, m);
  status_.condition("ConfigApplied", false, reason, m);
}

}  // namespace rockpool::actors::workspace
