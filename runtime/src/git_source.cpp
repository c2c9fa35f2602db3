// Git sources through libgit2: a bare clone per GitSync in the data
// directory, fetched (every branch and tag, pruned, forced) and read straight
// from its object database, so no worktree is ever checked out.
#include "rockpool/runtime/source.hpp"

#include "source_internal.hpp"

#include "loaded_library.hpp"

#include <git2.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>

namespace rockpool::runtime {

using specs::make_error;
using specs::reason;

namespace {

// The libgit2 functions GitSync calls, loaded at the first fetch or read.
// clang-format off
#define ROCKPOOL_GIT_FUNCTIONS(X)                                                             \
  X(libgit2_init) X(error_last) X(repository_open_bare) X(repository_init) X(repository_free) \
  X(remote_create_anonymous) X(fetch_options_init) X(remote_fetch) X(remote_free)             \
  X(revparse_single) X(object_peel) X(object_id) X(object_free) X(oid_tostr) X(oid_fromstr)   \
  X(commit_lookup) X(commit_tree) X(commit_free) X(tree_lookup) X(tree_walk) X(tree_free)     \
  X(tree_entry_byname) X(tree_entry_bypath) X(tree_entry_name) X(tree_entry_type)             \
  X(tree_entry_filemode) X(tree_entry_id) X(tree_entry_free)                                  \
  X(blob_lookup) X(blob_rawcontent) X(blob_rawsize) X(blob_free)
#define GIT_MEMBER(name) ROCKPOOL_LOADED_MEMBER(git_, name)
#define GIT_BIND(name) ROCKPOOL_LOADED_BIND(git_, name)
// clang-format on

struct git_functions {
  static constexpr const char* soname = ROCKPOOL_LIBGIT2_SONAME;
  ROCKPOOL_GIT_FUNCTIONS(GIT_MEMBER)
  void bind(const loaded_library& lib) {
    ROCKPOOL_GIT_FUNCTIONS(GIT_BIND)
    libgit2_init();
  }
};

const git_functions& libgit2() {
  return library_functions<git_functions>();
}

specs::error git_failure(const std::string& what) {
  const git_error* e = libgit2().error_last();
  return make_error(reason::unavailable,
                    what + ": " + (e && e->message ? e->message : "unknown libgit2 error"));
}

// Free: the git_functions member that frees a T.
template <class T, auto Free>
struct git_handle {
  T* p = nullptr;
  git_handle() = default;
  git_handle(const git_handle&) = delete;
  git_handle& operator=(const git_handle&) = delete;
  ~git_handle() {
    if (p) (libgit2().*Free)(p);
  }
  T** out() { return &p; }
  T* get() const { return p; }
};
using repository = git_handle<git_repository, &git_functions::repository_free>;
using remote = git_handle<git_remote, &git_functions::remote_free>;
using object = git_handle<git_object, &git_functions::object_free>;
using commit_h = git_handle<git_commit, &git_functions::commit_free>;
using tree = git_handle<git_tree, &git_functions::tree_free>;
using tree_entry = git_handle<git_tree_entry, &git_functions::tree_entry_free>;
using blob = git_handle<git_blob, &git_functions::blob_free>;

// One lock per clone directory: a fetch and a read of one clone never overlap.
std::mutex& clone_lock(const std::string& dir) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<std::mutex>> locks;
  std::lock_guard<std::mutex> g(mu);
  auto& m = locks[dir];
  if (!m) m = std::make_unique<std::mutex>();
  return *m;
}

specs::status open_clone(repository& repo, const std::string& dir, bool create) {
  if (libgit2().repository_open_bare(repo.out(), dir.c_str()) == 0) return specs::done{};
  if (!create) return git_failure("no local clone at " + dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (libgit2().repository_init(repo.out(), dir.c_str(), 1) != 0)
    return git_failure("cannot create the local clone at " + dir);
  return specs::done{};
}

std::string hex_of(const git_oid* id) {
  char buf[GIT_OID_HEXSZ + 1];
  libgit2().oid_tostr(buf, sizeof buf, id);
  return buf;
}

bool is_commit_id(const std::string& s) {
  if (s.size() < 7 || s.size() > GIT_OID_HEXSZ) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// ref as a branch, then a tag, then a commit id, peeled to a commit.
specs::result<std::string> resolve(git_repository* repo, const std::string& ref) {
  std::vector<std::string> candidates = {"refs/remotes/origin/" + ref, "refs/tags/" + ref};
  if (is_commit_id(ref)) candidates.push_back(ref);
  for (const auto& c : candidates) {
    object found;
    if (libgit2().revparse_single(found.out(), repo, c.c_str()) != 0) continue;
    object peeled;
    if (libgit2().object_peel(peeled.out(), found.get(), GIT_OBJECT_COMMIT) != 0) continue;
    return hex_of(libgit2().object_id(peeled.get()));
  }
  return make_error(
      reason::unavailable,
      "ref \"" + ref + "\" is neither a branch, a tag nor a commit of the repository");
}

struct deadline_payload {
  std::chrono::steady_clock::time_point deadline;
};

int within_deadline(const git_indexer_progress*, void* payload) {
  auto* d = static_cast<deadline_payload*>(payload);
  return std::chrono::steady_clock::now() > d->deadline ? -1 : 0;
}

struct walk_state {
  git_repository* repo;
  const manifest_filter* filter;
  snapshot_builder* out;
  specs::status status = specs::done{};
};

int visit(const char* root, const git_tree_entry* entry, void* payload) {
  auto* w = static_cast<walk_state*>(payload);
  std::string rel = std::string(root) + libgit2().tree_entry_name(entry);
  switch (libgit2().tree_entry_type(entry)) {
    case GIT_OBJECT_TREE:
      return w->filter->wanted_directory(rel) ? 0 : 1;  // 1: skip this subtree
    case GIT_OBJECT_BLOB: {
      if (libgit2().tree_entry_filemode(entry) == GIT_FILEMODE_LINK || !w->filter->wanted_file(rel))
        return 0;
      blob b;
      if (libgit2().blob_lookup(b.out(), w->repo, libgit2().tree_entry_id(entry)) != 0) {
        w->status = git_failure("cannot read " + rel);
        return -1;
      }
      std::string content(static_cast<const char*>(libgit2().blob_rawcontent(b.get())),
                          static_cast<std::size_t>(libgit2().blob_rawsize(b.get())));
      w->status = w->out->add(rel, std::move(content));
      return w->status.ok() ? 0 : -1;
    }
    default:
      return 0;  // submodules
  }
}

std::string blob_text(git_repository* repo, const git_tree* t, const char* name) {
  const git_tree_entry* e = libgit2().tree_entry_byname(t, name);
  if (e == nullptr || libgit2().tree_entry_type(e) != GIT_OBJECT_BLOB) return {};
  blob b;
  if (libgit2().blob_lookup(b.out(), repo, libgit2().tree_entry_id(e)) != 0) return {};
  auto size = static_cast<std::size_t>(libgit2().blob_rawsize(b.get()));
  if (size > (1u << 20)) return {};
  return std::string(static_cast<const char*>(libgit2().blob_rawcontent(b.get())), size);
}

std::string trimmed_path(std::string p) {
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  while (!p.empty() && p.back() == '/') p.pop_back();
  if (p == ".") p.clear();
  return p;
}

}  // namespace

specs::result<std::string> git_fetch(const git_source& src, std::chrono::seconds timeout) {
  if (auto api = loaded<git_functions>(); !api) return api.err();
  std::lock_guard<std::mutex> g(clone_lock(src.clone_dir));
  repository repo;
  if (auto st = open_clone(repo, src.clone_dir, true); !st.ok()) return st.err();
  remote r;
  if (libgit2().remote_create_anonymous(r.out(), repo.get(), src.url.c_str()) != 0)
    return git_failure("cannot use " + src.url);
  git_fetch_options opts;
  libgit2().fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
  opts.prune = GIT_FETCH_PRUNE;
  opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;  // the refspecs below take every tag
  deadline_payload deadline{std::chrono::steady_clock::now() + timeout};
  opts.callbacks.transfer_progress = within_deadline;
  opts.callbacks.payload = &deadline;
  const char* refspecs[] = {"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"};
  git_strarray specs_array{const_cast<char**>(refspecs), 2};
  if (libgit2().remote_fetch(r.get(), &specs_array, &opts, "rockpool gitsync fetch") != 0)
    return git_failure("fetching " + src.url);
  return resolve(repo.get(), src.ref);
}

specs::result<source_snapshot> git_read(const git_source& src, const std::string& commit,
                                        const source_limits& limits) {
  if (auto api = loaded<git_functions>(); !api) return api.err();
  std::lock_guard<std::mutex> g(clone_lock(src.clone_dir));
  repository repo;
  if (auto st = open_clone(repo, src.clone_dir, false); !st.ok()) return st.err();
  git_oid id;
  if (commit.size() != GIT_OID_HEXSZ || libgit2().oid_fromstr(&id, commit.c_str()) != 0)
    return make_error(reason::unavailable, "\"" + commit + "\" is not a commit id");
  commit_h c;
  if (libgit2().commit_lookup(c.out(), repo.get(), &id) != 0)
    return git_failure("commit " + commit + " is not in the local clone");
  tree root;
  if (libgit2().commit_tree(root.out(), c.get()) != 0)
    return git_failure("reading commit " + commit);
  auto path = trimmed_path(src.path);
  tree sub;
  const git_tree* base = root.get();
  if (!path.empty()) {
    tree_entry e;
    if (libgit2().tree_entry_bypath(e.out(), root.get(), path.c_str()) != 0 ||
        libgit2().tree_entry_type(e.get()) != GIT_OBJECT_TREE)
      return make_error(reason::unavailable, "path \"" + path + "\" is not a directory at commit " +
                                                 commit.substr(0, 12));
    if (libgit2().tree_lookup(sub.out(), repo.get(), libgit2().tree_entry_id(e.get())) != 0)
      return git_failure("reading " + path);
    base = sub.get();
  }
  manifest_filter filter(blob_text(repo.get(), base, ".rockpoolignore"));
  snapshot_builder out(limits);
  walk_state w{repo.get(), &filter, &out};
  if (libgit2().tree_walk(base, GIT_TREEWALK_PRE, visit, &w) != 0 && w.status.ok())
    return git_failure("reading commit " + commit);
  if (!w.status.ok()) return w.status.err();
  return std::move(out).finish(commit);
}

}  // namespace rockpool::runtime
