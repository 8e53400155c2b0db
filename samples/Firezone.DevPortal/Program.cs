using System.Net;
using Firezone.DevPortal;
using Microsoft.Extensions.Logging;

// A local development portal: accepts every token, joins every component, answers heartbeats, logs what it sees.
// Usage: dotnet run --project samples/Firezone.DevPortal [-- --port 8081]
var port = 8081;
for (var i = 0; i < args.Length - 1; i++)
{
    if (args[i] == "--port" && !int.TryParse(args[i + 1], out port))
    {
        Console.Error.WriteLine($"--port needs a number, got '{args[i + 1]}'");
        return 2;
    }
}

using var loggerFactory = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true));
var log = loggerFactory.CreateLogger("DevPortal");
await using var server = new PortalServer(new PortalServerOptions
{
    Address = IPAddress.Loopback,
    Port = port,
    OnJoined = session => session.Mode == "relay" ? session.PushAsync("init", new System.Text.Json.Nodes.JsonObject()) : Task.CompletedTask,
});
await server.StartAsync();
log.LogInformation("Dev portal listening on {Url} (Ctrl-C stops)", server.ApiUrl);

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
try
{
    await foreach (var frame in server.Received.ReadAllAsync(stop.Token))
    {
        log.LogInformation("{Mode} {Topic} {Event} ref={Ref}", frame.Session.Mode, frame.Topic, frame.Event, frame.Ref);
    }
}
catch (OperationCanceledException)
{
}
return 0;
