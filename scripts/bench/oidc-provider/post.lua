-- wrk script for a fixed form POST with HTTP Basic client authentication (scripts/oidc-bench):
--   wrk ... -s post.lua URL -- BASIC_CREDENTIALS FORM_BODY
function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = "Basic " .. args[1]
  wrk.body = args[2]
end
