// The workspace's home: an Incus custom volume, made before the instance and
// mounted at /home/dev, so it outlives a re-created instance. A deleted
// workspace's volume is deleted, or kept (spec.home.retain) for a later
// workspace to adopt (spec.home.fromVolume). The volume records its owner's
// uid: a pass only ever uses, adopts or deletes a volume that is its own.
#include "workspace/workspace.hpp"

namespace rockpool::actors::workspace {

using namespace common;

namespace {

std::string config_of(const runtime::volume_info& v, const char* key) {
  auto it = v.config.find(key);
  return it == v.config.end() ? std::string() : it->second;
}

}  // namespace

pass::step pass::ensure_home() {
  // The volume chosen when the workspace was first reconciled stays its home.
  home_ = old_.home ? old_.home->volume.value_or("") : std::string();
  // An instance made before home volumes keeps /home/dev on its root disk:
  // mounting an empty volume over it would hide the user's files.
  if (inst_ && !inst_->home && home_.empty()) {
    status_.condition("HomeReady", true, "InInstance",
                      "this instance predates home volumes: /home/dev is on its root disk "
                      "(delete and re-apply the workspace to get a home volume)");
    return std::nullopt;
  }
  if (home_.empty()) home_ = s_.home_from.empty() ? home_volume(s_.name, s_.uid) : s_.home_from;
  auto got = ctx_.incus.get_volume(home_);
  if (!got.ok()) return fail("IncusUnavailable", got.err().message, failed(got.err()));
  if (!*got) {
    if (auto st = make_home()) return st;
  } else if (auto uid = config_of(**got, runtime::volume_owner_uid_key); uid != s_.uid) {
    if (auto st = adopt_home(**got, uid)) return st;
  }
  next_.home = typed::status_home{home_, home_path, s_.home_retain};
  status_.condition("HomeReady", true, "VolumeReady", "home volume " + home_ + " at " + home_path);
  return std::nullopt;
}

pass::step pass::home_failed(const std::string& reason, const std::string& message,
                             pass_result r) {
  status_.condition("HomeReady", false, reason, message);
  return fail(reason, message, std::move(r));
}

// No volume yet: the workspace's own, made empty or as a copy of the
// snapshot it is cloned from. A named volume to adopt must exist.
pass::step pass::make_home() {
  if (home_ != home_volume(s_.name, s_.uid)) {
    auto m = "spec.home.fromVolume: no volume \"" + home_ + "\" to adopt";
    return home_failed("HomeVolumeNotFound", m, terminal(m));
  }
  std::map<std::string, std::string> owner{{runtime::volume_owner_uid_key, s_.uid},
                                           {runtime::volume_owner_name_key, s_.name}};
  if (!clone_volume_.empty()) {
    if (auto st = ctx_.incus.copy_volume(home_, clone_volume_, clone_snapshot_, owner); !st.ok())
      return home_failed("HomeFailed", st.err().message, failed(st.err()));
    ctx_.events.record(obj_, "Normal", "HomeCloned",
                       "created home volume " + home_ + " as a copy of workspacesnapshot/" +
                           s_.source_snapshot);
    return std::nullopt;
  }
  if (auto st = ctx_.incus.create_volume(home_, s_.home_size, owner); !st.ok())
    return home_failed("HomeFailed", st.err().message, failed(st.err()));
  ctx_.events.record(obj_, "Normal", "HomeCreated",
                     "created home volume " + home_ + " (" + s_.home_size + ")");
  return std::nullopt;
}

// A volume owned by another uid (or none): taken over only when it was
// retained and is named in spec.home.fromVolume, or left by an earlier
// incarnation of this name being adopted (rockpool.dev/adopt-instance).
pass::step pass::adopt_home(const runtime::volume_info& v, const std::string& uid) {
  bool retained = uid.empty() && config_of(v, runtime::volume_retained_key) == "true";
  bool left_behind = specs::annotation(obj_, adopt_annotation) == "true" &&
                     config_of(v, runtime::volume_owner_name_key) == s_.name;
  if (!(retained || left_behind) || home_ != s_.home_from) {
    auto m = "volume " + home_ + " is the home of another workspace (" +
             config_of(v, runtime::volume_owner_name_key) + ")";
    if (retained) m = "volume " + home_ + " was retained; adopt it with spec.home.fromVolume";
    return home_failed("HomeVolumeInUse", m, terminal(m));
  }
  if (auto st = ctx_.incus.update_volume(home_, {{runtime::volume_owner_uid_key, s_.uid},
                                                 {runtime::volume_owner_name_key, s_.name},
                                                 {runtime::volume_retained_key, ""}});
      !st.ok())
    return home_failed("HomeFailed", st.err().message, failed(st.err()));
  ctx_.events.record(obj_, "Normal", "HomeAdopted",
                     std::string(retained ? "adopted retained home volume "
                                          : "took over the home volume left by uid " + uid + ": ") +
                         home_);
  return std::nullopt;
}

}  // namespace rockpool::actors::workspace
