# Domains and their vTPMs: xm create with a vtpm line, xm vtpm-list, the
# label checks, through the real xm, xend, shype-hv and vtpm_managerd.
if(TARGET xm AND TARGET xend AND TARGET shype-hv AND TARGET vtpm_managerd AND TARGET vtpmctl
   AND TARGET guest_hello AND TARGET guest_counter)
  shype_xm_e2e_test(xm_vtpm_e2e_tests xm_vtpm_test.cpp)
  target_compile_definitions(xm_vtpm_e2e_tests PRIVATE
    VTPM_MANAGERD_PATH="$<TARGET_FILE:vtpm_managerd>"
    VTPMCTL_PATH="$<TARGET_FILE:vtpmctl>")
  add_dependencies(xm_vtpm_e2e_tests vtpm_managerd vtpmctl)
endif()
