// Starts `hac lsp` for .hac files. Everything the editor shows (diagnostics, hover,
// completion, definitions, the outline) comes from the server.
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const command = vscode.workspace.getConfiguration("hac").get<string>("path", "hac");
  // No `transport` here: with one, the client would append `--stdio` (which `hac lsp`
  // accepts, but stdio is the default anyway).
  const serverOptions: ServerOptions = {
    command,
    args: ["lsp"],
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "hac" },
    ],
  };
  client = new LanguageClient("hac", "hac language server", serverOptions, clientOptions);
  context.subscriptions.push(
    vscode.commands.registerCommand("hac.restartServer", async () => {
      await client?.restart();
    }),
  );
  await client.start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
}
