// Libraries opened when first used (runtime/src/loaded_library.hpp), and the
// directory revision that no longer needs libgit2 to be computed.
#include "loaded_library.hpp"
#include "source_internal.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace rockpool::runtime {
namespace {

struct libc_functions {
  decltype(&::strlen) strlen = nullptr;
};

struct absent_functions {
  static constexpr const char* soname = "librockpool-not-installed.so.0";
  void bind(const loaded_library&) {}
};

TEST(loaded_library, a_library_that_is_not_there_is_an_error_naming_it) {
  auto r = loaded<absent_functions>();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().why, specs::reason::internal);
  EXPECT_NE(r.err().message.find("cannot load librockpool-not-installed.so.0"), std::string::npos)
      << r.err().message;
  EXPECT_FALSE(loaded<absent_functions>().ok());  // tried again, and still not there
}

TEST(loaded_library, a_function_the_library_lacks_is_an_error_naming_both) {
  loaded_library libc("libc.so.6");
  libc_functions f;
  libc.bind(f.strlen, "strlen");
  ASSERT_NE(f.strlen, nullptr);
  EXPECT_EQ(f.strlen("four"), 4u);
  try {
    libc.bind(f.strlen, "rockpool_no_such_function");
    FAIL() << "bound a function libc does not have";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "libc.so.6 has no function rockpool_no_such_function");
  }
}

// A directory's revision is Git's blob id of its files' paths, sizes and
// contents: what `git hash-object` says of the same bytes (and what libgit2
// gave when it computed it), so revisions recorded before stay equal.
TEST(content_digest, is_gits_blob_id_of_the_paths_sizes_and_contents) {
  test_support::temp_dir d;
  std::vector<source_file> files = {{"a.yaml", "x: 1\n"}, {"more/b.yaml", std::string("y\0z", 3)}};
  std::string bytes = std::string(
                          "a.yaml\0"
                          "5\0"
                          "x: 1\n",
                          14) +
                      std::string(
                          "more/b.yaml\0"
                          "3\0"
                          "y\0z",
                          17);
  std::ofstream(d / "bytes", std::ios::binary) << bytes;
  auto git = test_support::run_command("git hash-object " + (d / "bytes"));
  ASSERT_EQ(git.exit_code, 0) << git.err;
  EXPECT_EQ(content_digest(files) + "\n", git.out);
  EXPECT_NE(content_digest({{"a.yaml", "x: 2\n"}}), content_digest({{"a.yaml", "x: 1\n"}}));
}

}  // namespace
}  // namespace rockpool::runtime
