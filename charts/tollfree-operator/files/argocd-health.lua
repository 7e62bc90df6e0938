-- Argo CD health check of tollfree.dev/TollFreeNumberSet.
-- Install as argocd-cm key resource.customizations.health.tollfree.dev_TollFreeNumberSet
-- (docs/observability.md). Argo CD runs custom checks without the string, math
-- and os libraries: only base and table functions are used here.
--
--   Progressing  the set is being deleted (first: deletion runs even when suspended)
--   Suspended    spec.suspend is true (nothing at the vendor changes until resumed)
--   Progressing  no status yet, the spec is newer than status.observedGeneration,
--                or Reconciling=True (orders in flight)
--   Degraded     Stalled=True: a person must act; the message says why
--   Healthy      Ready=True for the current generation
local hs = {}

local function condition(type)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function said(c)
  if c.reason ~= nil and c.reason ~= "" then
    return c.reason .. ": " .. (c.message or "")
  end
  return c.message or ""
end

local generation = obj.metadata.generation
local observed = nil
if obj.status ~= nil then
  observed = obj.status.observedGeneration
end
local current = observed ~= nil and (generation == nil or observed == generation)

if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "being deleted: the operator releases its numbers (under policy.disconnect Auto it disconnects them first, unless suspended)"
  return hs
end

if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "spec.suspend is true: no vendor changes until it is resumed"
  if not current then
    hs.message = hs.message .. " (the operator has not observed this yet)"
  end
  return hs
end

if observed == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to report status"
  return hs
end

if not current then
  hs.status = "Progressing"
  hs.message = "generation " .. generation .. " is not observed yet (status is of generation " .. observed .. ")"
  return hs
end

local stalled = condition("Stalled")
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = said(stalled)
  return hs
end

local reconciling = condition("Reconciling")
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = said(reconciling)
  return hs
end

local ready = condition("Ready")
if ready ~= nil and ready.status == "True" and
    (ready.observedGeneration == nil or generation == nil or ready.observedGeneration == generation) then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end

hs.status = "Progressing"
if ready ~= nil then
  hs.message = said(ready)
else
  hs.message = "waiting for the Ready condition"
end
return hs
