# bootseal-setup-root: a small statically linked executable for the initramfs, linked
# from the module libraries (initramfs and what its DEPS bring: base, sys, bls, erofs,
# fstree; the static linker takes only the objects setup-root reaches) and the static
# fmt (bootseal::fmtlib: Debian ships no static libfmt). It links no oci/store/keys/signing.
# Included by src/initramfs/CMakeLists.txt, in the host build and in the arm64 cross
# build of tools/build (BOOTSEAL_SETUP_ROOT_ONLY, which builds only these modules).
add_executable(bootseal-setup-root ${CMAKE_CURRENT_LIST_DIR}/main/setup_root_main.cc)
target_link_libraries(bootseal-setup-root PRIVATE bootseal::initramfs Threads::Threads)
if(NOT (BOOTSEAL_SANITIZE OR BOOTSEAL_FUZZ))
  # The sanitizer runtimes cannot be linked statically; such builds are for
  # testing the host-side code, and the initramfs binary comes from a normal build.
  target_link_options(bootseal-setup-root PRIVATE -static -s)
endif()
if(BOOTSEAL_SETUP_ROOT_ONLY)
  # The cross build's binary sits at its top (build/aarch64/bootseal-setup-root),
  # where seal looks for it beside the host build.
  set_target_properties(bootseal-setup-root PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
endif()
