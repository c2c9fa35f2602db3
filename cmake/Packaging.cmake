# The Debian package `rockpool` (issue 26): `cmake --build build --target
# package` (CPack's DEB generator). Installs rockpoold and rpctl, their man
# pages (help2man from --help), rpctl's bash completion, the default config
# as a conffile, the systemd units and OpenRC scripts (rockpoold and its
# standby gate), logrotate, the image
# build scripts and the docs; maintainer scripts make the `rockpool` group
# and /var/lib/rockpool (0700). Depends: on shared libraries is derived by
# dpkg-shlibdeps, not listed by hand. See docs/operations.md, "Install".
include(GNUInstallDirs)

install(TARGETS rockpoold rpctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/rockpoold.conf DESTINATION /etc/rockpool)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/logrotate/rockpool DESTINATION /etc/logrotate.d)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/systemd/rockpoold.service
              ${PROJECT_SOURCE_DIR}/packaging/systemd/rockpool-gate.service
        DESTINATION /lib/systemd/system)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/packaging/openrc/rockpoold
                 ${PROJECT_SOURCE_DIR}/packaging/openrc/rockpool-gate
        DESTINATION ${CMAKE_INSTALL_DATADIR}/rockpool/openrc)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/completion/rpctl.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME rpctl)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/images/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/rockpool/images USE_SOURCE_PERMISSIONS)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/install-deps.sh
        DESTINATION ${CMAKE_INSTALL_DATADIR}/rockpool/scripts)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/operations.md
              ${PROJECT_SOURCE_DIR}/docs/user-guide.md ${PROJECT_SOURCE_DIR}/docs/security.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/debian/lintian-overrides
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME rockpool)
# Debian's changelog, gzipped as policy wants it.
add_custom_command(
  OUTPUT ${CMAKE_BINARY_DIR}/changelog.gz
  COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/packaging/debian/changelog > ${CMAKE_BINARY_DIR}/changelog.gz
  DEPENDS ${PROJECT_SOURCE_DIR}/packaging/debian/changelog)
add_custom_target(rockpool_changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/changelog.gz)
install(FILES ${CMAKE_BINARY_DIR}/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Man pages from --help (help2man), gzipped as Debian wants them.
find_program(ROCKPOOL_HELP2MAN help2man)
if(ROCKPOOL_HELP2MAN)
  set(man_dir ${CMAKE_BINARY_DIR}/man)
  foreach(page rockpoold:8:"Rockpool control-plane daemon" rpctl:1:"Rockpool command-line client")
    string(REPLACE ":" ";" parts "${page}")
    list(GET parts 0 prog)
    list(GET parts 1 section)
    list(GET parts 2 what)
    add_custom_command(
      OUTPUT ${man_dir}/${prog}.${section}.gz
      COMMAND ${CMAKE_COMMAND} -E make_directory ${man_dir}
      COMMAND ${ROCKPOOL_HELP2MAN} --no-info --section=${section} --name=${what}
              --version-string=${PROJECT_VERSION} --output=${man_dir}/${prog}.${section}
              $<TARGET_FILE:${prog}>
      COMMAND gzip -9nf ${man_dir}/${prog}.${section}
      DEPENDS ${prog}
      VERBATIM)
    list(APPEND man_pages ${man_dir}/${prog}.${section}.gz)
    install(FILES ${man_dir}/${prog}.${section}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
  endforeach()
  add_custom_target(rockpool_man_pages ALL DEPENDS ${man_pages})
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME rockpool)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "Rockpool maintainers <maintainers@rockpool.dev>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "self-hosted cloud development workspaces on Incus")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "Rockpool runs development workspaces (a browser IDE in an Incus container)\n\
behind Caddy, kept by a Kubernetes-style reconciliation controller (rockpoold)\n\
driven with rpctl, kubectl, a web UI or GitOps.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Not found by dpkg-shlibdeps: what the service and the image builds call,
# and the libraries opened when first used (cmake/LoadedLibraries.cmake).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, curl")
foreach(pkg ${LIBCURL_PACKAGE} ${LIBGIT2_PACKAGE})
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", ${pkg}")
endforeach()
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "incus-base | incus, caddy, dnsmasq-base, debootstrap")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/debian/postinst ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
    ${PROJECT_SOURCE_DIR}/packaging/debian/postrm ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
