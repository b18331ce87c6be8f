// Prints "ready" and stays until killed.
console.log("ready");
setInterval(() => {}, 1000);
