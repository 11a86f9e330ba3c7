using Azure.Storage.Queues;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using WatchStat.Functions;

namespace WatchStat.Tests.Infrastructure;

/// <summary>
/// <see cref="WeComCallbackFunction"/> (and the report routes, <see cref="LiveReportFunctions"/>) on a real HTTP
/// listener at 127.0.0.1, the way the Functions host serves them: the route <c>/api/wecom/callback/{app}</c>, the function activated from the app's container per request, its queue
/// output sent to the queue, its result written by ASP.NET Core's own executors. The simulator calls it as WeCom
/// calls the deployed app.
/// </summary>
public sealed class FunctionEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FunctionEndpoint(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
        Client = new HttpClient { BaseAddress = baseUrl };
    }

    /// <summary>e.g. http://127.0.0.1:41234/</summary>
    public Uri BaseUrl { get; }

    public int Requests { get; private set; }

    /// <summary>A client with <see cref="BaseUrl"/> as its base address, disposed with the endpoint.</summary>
    public HttpClient Client { get; }

    public Uri CallbackUrl(string app) => new(BaseUrl, WeComCallbackFunction.PathOf(app).TrimStart('/'));

    public static async Task<FunctionEndpoint> StartAsync(AppHost host, QueueClient queue)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], EnvironmentName = "Production" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddMvcCore();
        var app = builder.Build();
        FunctionEndpoint? endpoint = null;
        app.MapMethods("/api/wecom/callback/{app}", ["GET", "POST"], async (HttpContext context, string app) =>
        {
            endpoint!.Requests++;
            var output = await host.Activate<WeComCallbackFunction>().Run(context.Request, app, context.RequestAborted);
            foreach (var message in output.Messages) await queue.SendMessageAsync(message);
            await output.Result.ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor()));
        });
        // The report routes, as the host serves them (GET, the function activated per request).
        app.MapGet("/api/lives/{livingid}/report", async (HttpContext context, string livingid) =>
        {
            endpoint!.Requests++;
            var result = await host.Activate<LiveReportFunctions>().Report(context.Request, livingid, context.RequestAborted);
            await result.ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor()));
        });
        app.MapGet("/api/lives", async (HttpContext context) =>
        {
            endpoint!.Requests++;
            var result = await host.Activate<LiveReportFunctions>().Overview(context.Request, context.RequestAborted);
            await result.ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor()));
        });
        app.MapGet("/api/lives/{livingid}/export", async (HttpContext context, string livingid) =>
        {
            endpoint!.Requests++;
            var result = await host.Activate<LiveReportFunctions>().Export(context.Request, livingid, context.RequestAborted);
            await result.ExecuteResultAsync(new ActionContext(context, context.GetRouteData(), new ActionDescriptor()));
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        endpoint = new FunctionEndpoint(app, new Uri(address.EndsWith('/') ? address : address + "/"));
        return endpoint;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
