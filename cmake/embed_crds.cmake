# Build-time step: writes a C++ source holding every CRD YAML file verbatim.
# Inputs: OUT (generated .cpp), FILES (.yaml paths separated by '|').
string(REPLACE "|" ";" FILES "${FILES}")
set(body "")
foreach(f IN LISTS FILES)
  file(READ "${f}" text)
  get_filename_component(name "${f}" NAME)
  string(APPEND body "    {\"${name}\", R\"rpcrd(${text})rpcrd\"},\n")
endforeach()
file(WRITE "${OUT}.tmp"
"// Generated from crds/*.yaml by cmake/embed_crds.cmake. Do not edit.\n"
"#include \"rockpool/crds/embedded.hpp\"\n"
"namespace rockpool::crds {\n"
"const std::vector<embedded_file>& embedded_files() {\n"
"  static const std::vector<embedded_file> files = {\n${body}  };\n"
"  return files;\n}\n}  // namespace rockpool::crds\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
