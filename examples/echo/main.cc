// echo: returns the event it was invoked with.
//   ninja -C build echo   ->  build/examples/echo/bootstrap and build/examples/echo/echo.zip
#include <lambdad/runtime.h>

int main() {
  return lambdad::run([](const lambdad::InvocationRequest& req) {
    return lambdad::InvocationResponse::success(req.payload);
  });
}
