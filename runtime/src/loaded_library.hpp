#pragma once

// A shared library opened when it is first needed (dlopen), not by the
// dynamic loader at every start. libcurl and libgit2 each bring a tree of
// dependencies (TLS, Kerberos, LDAP, SSH: 32 of the 53 libraries rockpoold mapped)
// whose loading and symbol binding was about 8 ms of each start, paid also by
// processes that never use them (a daemon restarting to /readyz, a store
// without Incus, every GitSync-less setup). The function types come from the
// library's own header (ROCKPOOL_LOADED_FUNCTION below), so each call is still
// checked by the compiler against the version the build was made with, and
// the SONAME opened is the one that build linked against (cmake/LoadedLibraries.cmake).
// The library stays open for the life of the process.

#include "rockpool/specs/result.hpp"

#include <dlfcn.h>

#include <exception>
#include <stdexcept>
#include <string>

namespace rockpool::runtime {

class loaded_library {
 public:
  /// Opens soname; throws std::runtime_error naming it when it cannot.
  explicit loaded_library(const char* soname)
      : soname_(soname), handle_(dlopen(soname, RTLD_NOW | RTLD_LOCAL)) {
    if (handle_ == nullptr)
      throw std::runtime_error(std::string("cannot load ") + soname + ": " + dlerror());
  }
  loaded_library(const loaded_library&) = delete;
  loaded_library& operator=(const loaded_library&) = delete;

  /// Sets fn to the library's function name; throws when it has none.
  template <class F>
  void bind(F& fn, const char* name) const {
    void* p = dlsym(handle_, name);
    if (p == nullptr) throw std::runtime_error(soname_ + " has no function " + name);
    fn = reinterpret_cast<F>(p);
  }

 private:
  std::string soname_;
  void* handle_;
};

/// The functions of a library, loaded at the first call and kept for the life
/// of the process. Functions: a struct with `static constexpr const char*
/// soname`, a member per function and `void bind(const loaded_library&)`,
/// which sets them (and may initialise the library). Throws when it cannot be
/// loaded; a later call tries again.
template <class Functions>
const Functions& library_functions() {
  static const Functions functions = [] {
    loaded_library lib(Functions::soname);
    Functions f;
    f.bind(lib);
    return f;
  }();
  return functions;
}

/// The functions, or why they could not be loaded (a fault of the
/// installation, reported as the failure of the call that needed them).
template <class Functions>
specs::result<const Functions*> loaded() {
  try {
    return &library_functions<Functions>();
  } catch (const std::exception& e) {
    return specs::make_error(specs::reason::internal, e.what());
  }
}

}  // namespace rockpool::runtime

// For an X-macro list of a library's functions: in the struct, a member `name`
// of the type of the header's prefix##name (easy_init for curl_easy_init); in
// its bind(lib), the binding of that member to the library's prefix##name.
#define ROCKPOOL_LOADED_MEMBER(prefix, name) decltype(&::prefix##name) name = nullptr;
#define ROCKPOOL_LOADED_BIND(prefix, name) lib.bind(name, #prefix #name);
