# The kinds' semantic rules (validation beyond the CRD schemas), kept in the
# kinds' folders (reconcilers/KIND/rules.cpp, picked up as they are); linked
# by rockpoold's store and by rpctl, so it depends on specs (and the typed
# views generated from the CRDs) only. Included by
# actors/CMakeLists.txt, and on its own by fuzz builds.
file(GLOB kind_rule_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/reconcilers/*/rules.cpp)
add_library(rockpool_kind_rules STATIC
  ${CMAKE_CURRENT_LIST_DIR}/reconcilers/rules.cpp ${kind_rule_sources})
target_include_directories(rockpool_kind_rules PUBLIC ${CMAKE_CURRENT_LIST_DIR}/include)
target_link_libraries(rockpool_kind_rules PUBLIC rockpool_specs
                      PRIVATE rockpool_schedule rockpool_crd_types)
