-- deflist.lua -- pandoc filter for the man pages: option lists become definition lists (.TP).
--
-- The pages are written for GitHub as much as for man, and GitHub has no definition lists. So an
-- option is a bullet whose first line is the term, ended by a backslash (a hard line break), with
-- the text below it:
--
--   - `--threads` *N*\
--     Worker threads, 1 to 1024.
--
-- GitHub shows a bullet list with the term on a line of its own; this filter turns such a list
-- (every item starting that way) into the definition list a man page has.

local function split_term(item)
  local first = item[1]
  if not first or (first.t ~= "Plain" and first.t ~= "Para") then return nil end
  for i, inline in ipairs(first.content) do
    if inline.t == "LineBreak" then
      local term, rest = {}, {}
      for j = 1, i - 1 do term[#term + 1] = first.content[j] end
      for j = i + 1, #first.content do rest[#rest + 1] = first.content[j] end
      -- The line break is followed by a soft break or a space in the source: not part of the text.
      while rest[1] and (rest[1].t == "SoftBreak" or rest[1].t == "Space") do
        table.remove(rest, 1)
      end
      local definition = {}
      if #rest > 0 then definition[1] = pandoc.Plain(rest) end
      for j = 2, #item do definition[#definition + 1] = item[j] end
      return term, definition
    end
  end
  return nil
end

function BulletList(list)
  local items = {}
  for _, item in ipairs(list.content) do
    local term, definition = split_term(item)
    if not term then return nil end  -- an ordinary list: leave it as it is
    items[#items + 1] = {term, {definition}}
  end
  return pandoc.DefinitionList(items)
end
