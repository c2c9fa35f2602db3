# The kinds' semantic rules (validation beyond the CRD schemas), kept in the
# kinds' folders; linked by rockpoold's store and by rpctl, so it depends on
# specs only. Included by actors/CMakeLists.txt, and on its own by fuzz builds.
set(rules_dir ${CMAKE_CURRENT_LIST_DIR}/reconcilers)
add_library(rockpool_kind_rules STATIC
  ${rules_dir}/rules.cpp ${rules_dir}/workspace/rules.cpp ${rules_dir}/port_route/rules.cpp
  ${rules_dir}/nested_host/rules.cpp)
target_include_directories(rockpool_kind_rules PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
target_link_libraries(rockpool_kind_rules PUBLIC rockpool_specs)
