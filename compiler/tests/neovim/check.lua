-- Opens $HAC_FILE in Neovim with `$HAC_BIN lsp` attached, waits (bounded) for its
-- diagnostics and prints them, fixes the mistake and waits for them to clear, then
-- formats the buffer and writes it to $HAC_OUT.
-- Works with Neovim 0.7 (Debian 12) and later: `vim.lsp.start` needs 0.8, so the
-- client is started and attached by hand.
local bin = os.getenv("HAC_BIN")
local file = os.getenv("HAC_FILE")
local function say(line)
  io.stdout:write(line .. "\n")
  io.stdout:flush()
end

vim.cmd("edit " .. vim.fn.fnameescape(file))
local buf = vim.api.nvim_get_current_buf()
local client_id = vim.lsp.start_client({
  name = "hac",
  cmd = { bin, "lsp" },
  root_dir = vim.fn.fnamemodify(file, ":p:h"),
})
if not client_id then
  say("ERROR the client did not start")
  vim.cmd("cquit 2")
end
vim.lsp.buf_attach_client(buf, client_id)

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
local cleared = vim.wait(20000, function()
  return #vim.diagnostic.get(buf) == 0
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
