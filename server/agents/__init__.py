"""Onset for AI agents: the tool catalogue, the MCP server (`onset mcp`), and narration.

The MCP server is a surface: it calls the REST API with the agent's key, like the CLI.
Plans (`server.plans`) run the same tools server-side.
"""
