-- Placeholder: the Argo CD health check of TollFreeNumberSet is written in its
-- own change. Until then every set reports Progressing.
local hs = {}
hs.status = "Progressing"
hs.message = "health check not written yet"
return hs
