# ezPolicy's Deploy (ezpolicy/gui, shype_ezpolicy_views: no display needed)
# against a real xend and shype-hv.
if(TARGET shype_ezpolicy_views AND TARGET xm AND TARGET xend AND TARGET shype-hv)
  shype_xm_e2e_test(ezpolicy_e2e_tests ezpolicy_deploy_test.cpp)
  target_link_libraries(ezpolicy_e2e_tests PRIVATE shype_ezpolicy_views)
endif()
