-- Opens $HAC_FILE in Neovim, where the documented set-up (docs/editors.md, loaded as
-- init.lua) has attached `hac lsp`, waits (bounded) for its diagnostics and prints
-- them, fixes the mistake and waits for them to clear, then formats the buffer and
-- writes it to $HAC_OUT. Works with Neovim 0.7 (Debian 12) and later.
local file = os.getenv("HAC_FILE")
local function say(line)
  io.stdout:write(line .. "\n")
  io.stdout:flush()
end

vim.cmd("edit " .. vim.fn.fnameescape(file))
local buf = vim.api.nvim_get_current_buf()
if vim.bo[buf].filetype ~= "hac" then
  say("ERROR the filetype is `" .. vim.bo[buf].filetype .. "`, not hac")
  vim.cmd("cquit 2")
end
local attached = vim.wait(10000, function()
  return next(vim.lsp.buf_get_clients(buf)) ~= nil
end, 20)
if not attached then
  say("ERROR no language server attached to the buffer")
  vim.cmd("cquit 2")
end
local client_id = next(vim.lsp.buf_get_clients(buf))

local reported = vim.wait(20000, function()
  return #vim.diagnostic.get(buf) > 0
end, 20)
if not reported then
  say("TIMEOUT no diagnostics")
  vim.cmd("cquit 3")
end
for _, d in ipairs(vim.diagnostic.get(buf)) do
  say(string.format("DIAGNOSTIC %d:%d %s", d.lnum + 1, d.col + 1, (d.message:gsub("\n", " | "))))
end

-- Fix the typo the way a person would, in the buffer, without saving.
local lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
for i, line in ipairs(lines) do
  lines[i] = line:gsub("netwrok", "network")
end
vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
-- The fixed example keeps its warning and advice (its unchecked CNI manifest, the DNS
-- record to create): the error is what must go.
local cleared = vim.wait(20000, function()
  return #vim.diagnostic.get(buf, { severity = vim.diagnostic.severity.ERROR }) == 0
end, 20)
say(cleared and "CLEARED" or "TIMEOUT diagnostics stayed")

-- Format through the server (`vim.lsp.buf.format` from 0.8 on) and save the buffer
-- where the test reads it.
if vim.lsp.buf.format then
  vim.lsp.buf.format({ timeout_ms = 10000 })
else
  vim.lsp.buf.formatting_sync(nil, 10000)
end
vim.fn.writefile(vim.api.nvim_buf_get_lines(buf, 0, -1, false), os.getenv("HAC_OUT"))
say("FORMATTED")

vim.lsp.stop_client(client_id)
vim.wait(5000, function()
  return vim.lsp.get_client_by_id(client_id) == nil
end, 20)
vim.cmd("qall!")
